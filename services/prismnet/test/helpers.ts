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

/** A JSON response. */
export interface JsonResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are navigated dynamically in assertions.
  body: any;
}

/** Send a request; every answer must be an envelope and never a 5xx (bad input is never a 500). */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  const parsed = JSON.parse(text) as { success?: unknown };
  if (res.status >= 500) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  if (typeof parsed.success !== 'boolean') throw new Error(`${method} ${path}: not an envelope: ${text}`);
  return { status: res.status, headers: res.headers, body: parsed };
}
