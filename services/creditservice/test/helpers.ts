/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically in assertions. */
/**
 * Test harness: CreditService in-process over a real ChainFire engine (no mocks at the storage
 * boundary), on a free loopback port with a temp data dir; `call` drives it with fetch.
 */
import { tempDir } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { createLogger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { openChainFire } from '../../chainfire/src/engine.js';
import { startCreditServiceServer } from '../src/server.js';
import type { CreditServiceServer, CreditServiceServerOptions } from '../src/server.js';

/** A JSON response. */
export interface Res {
  status: number;
  body: any;
  headers: Headers;
}

/** A running CreditService with its store. */
export interface Harness {
  server: CreditServiceServer;
  store: Store;
  url: string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Res>;
  close(): Promise<void>;
}

/** Start ChainFire in-process and CreditService on it. */
export async function startHarness(over: Partial<CreditServiceServerOptions> = {}): Promise<Harness> {
  const dir: TempDir = await tempDir('photoncloud-credit-');
  const store = await openChainFire({ dataDir: dir.path });
  const server = await startCreditServiceServer({
    store,
    auth: { mode: 'local' },
    logger: createLogger({ service: 'creditservice', level: 'silent' }),
    sweepIntervalMs: 0,
    ...over,
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url + path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const textBody = await res.text();
    let parsed: any = textBody;
    try {
      parsed = JSON.parse(textBody);
    } catch {
      // Not JSON: keep the text.
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    server,
    store,
    url: server.url,
    call,
    close: async () => {
      await server.close();
      await store.close();
      await dir.cleanup();
    },
  };
}
