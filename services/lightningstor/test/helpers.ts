/** Shared setup of LightningSTOR integration tests: ChainFire in-process + LightningSTOR on loopback. */
import { S3Client } from '@aws-sdk/client-s3';
import { tempDir } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { openChainFire } from '../../chainfire/src/engine.js';
import { startLightningStorServer } from '../src/server.js';
import type { LightningStorServer } from '../src/server.js';

/** A running server plus what tests need. */
export interface Harness {
  server: LightningStorServer;
  dir: TempDir;
  client: S3Client;
  close(): Promise<void>;
}

/** Start ChainFire and LightningSTOR in temp dirs. */
export async function startHarness(opts: { minPartSize?: number } = {}): Promise<Harness> {
  const dir = await tempDir('lightningstor-');
  const cf = await openChainFire({ dataDir: `${dir.path}/chainfire` });
  const server = await startLightningStorServer({
    store: cf,
    auth: { mode: 'local' },
    port: 0,
    dataDir: `${dir.path}/lightningstor`,
    ...(opts.minPartSize === undefined ? {} : { minPartSize: opts.minPartSize }),
  });
  const client = s3Client(server.url, server.rootKey.access_key_id, server.rootKey.secret_access_key);
  return {
    server,
    dir,
    client,
    async close() {
      client.destroy();
      await server.close();
      await cf.close();
      await dir.cleanup();
    },
  };
}

/** An SDK client for `url` with path-style addressing. */
export function s3Client(url: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
}
