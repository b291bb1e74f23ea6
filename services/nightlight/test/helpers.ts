/** Shared setup of NightLight integration tests: ChainFire in-process + NightLight on loopback. */
import { compress } from 'snappyjs';
import { createLogger } from '@photoncloud/log';
import { tempDir } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { openChainFire } from '../../chainfire/src/engine.js';
import { encodeWriteRequest } from '../src/core/remote-write.js';
import type { WriteSample } from '../src/core/remote-write.js';
import { startNightLightServer } from '../src/server.js';
import type { NightLightServer, NightLightServerOptions } from '../src/server.js';

/** A running server plus what tests need. */
export interface Harness {
  server: NightLightServer;
  dir: TempDir;
  close(): Promise<void>;
}

/** Start ChainFire and NightLight in temp dirs. */
export async function startHarness(opts: Partial<NightLightServerOptions> = {}): Promise<Harness> {
  const dir = await tempDir('nightlight-');
  const cf = await openChainFire({ dataDir: `${dir.path}/chainfire` });
  const server = await startNightLightServer({
    store: cf,
    auth: { mode: 'local' },
    port: 0,
    logger: createLogger({ service: 'nightlight', level: 'warn' }),
    dataDir: `${dir.path}/nightlight`,
    ...opts,
  });
  return {
    server,
    dir,
    async close() {
      await server.close();
      await cf.close();
      await dir.cleanup();
    },
  };
}

/** One series of a remote-write request. */
export interface SeriesInput {
  labels: Record<string, string>;
  samples: WriteSample[];
}

/** Snappy-compressed protobuf WriteRequest body. */
export function writeBody(
  series: SeriesInput[],
  metadata: { metric: string; type: string; help: string; unit: string }[] = [],
): Uint8Array {
  const raw = encodeWriteRequest({
    series: series.map((s) => ({ labels: Object.entries(s.labels), samples: s.samples })),
    metadata,
  });
  return compress(raw) as Uint8Array;
}

/** POST a remote-write request; returns the HTTP status and body text. */
export async function remoteWrite(
  url: string,
  series: SeriesInput[],
  metadata: { metric: string; type: string; help: string; unit: string }[] = [],
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
    },
    body: writeBody(series, metadata),
  });
  return { status: res.status, text: await res.text() };
}

/** GET a Prometheus API path; returns status and parsed JSON. */
export async function api(
  url: string,
  path: string,
): Promise<{
  status: number;
  body: Record<string, unknown> & { status: string; data?: unknown; errorType?: string; error?: string };
}> {
  const res = await fetch(url + path);
  return { status: res.status, body: (await res.json()) as never };
}
