/** Start PrismNET in-process on loopback over a real ChainFire engine in a temp dir. */
import { createLogger } from '@photoncloud/log';
import type { AuthOptions } from '@photoncloud/http-kit';
import type { Store } from '@photoncloud/store';
import { PrismNetClient } from '@photoncloud/prismnet-api';
import { tempDir } from '@photoncloud/test-utils';
import { openChainFire } from '../../chainfire/src/engine.js';
import { startPrismNetServer } from '../src/server.js';
import type { PrismNetServer } from '../src/server.js';

/** A running PrismNET with its store. */
export interface Harness {
  url: string;
  store: Store;
  server: PrismNetServer;
  client: PrismNetClient;
  close(): Promise<void>;
}

/** Start PrismNET (auth `local` unless given) on a free port. */
export async function startHarness(auth: AuthOptions = { mode: 'local' }): Promise<Harness> {
  const dir = await tempDir('prismnet-test-');
  const store = await openChainFire({ dataDir: dir.path });
  const server = await startPrismNetServer({
    store,
    auth,
    logger: createLogger({ service: 'prismnet', level: 'silent' }),
  });
  return {
    url: server.url,
    store,
    server,
    client: new PrismNetClient({ baseUrl: server.url }),
    close: async () => {
      await server.close();
      await store.close();
      await dir.cleanup();
    },
  };
}

// Every answer must be an envelope and never a 5xx (bad input is never a 500).
export { callEnvelope as call, type EnvelopeResponse as JsonResponse } from '@photoncloud/test-utils';
