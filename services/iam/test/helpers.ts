/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically in assertions. */
/**
 * Test harness: IAM in-process over a real ChainFire engine (no mocks at the storage boundary), on a
 * free loopback port, with a temp data dir; `call` drives it with fetch.
 */
import { Writable } from 'node:stream';
import { tempDir } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { createLogger } from '@photoncloud/log';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { openChainFire } from '../../chainfire/src/engine.js';
import { startIamServer } from '../src/server.js';
import type { IamServer, IamServerOptions } from '../src/server.js';

/** A JSON response. */
export interface Res {
  status: number;
  body: any;
  headers: Headers;
}

/** Log lines captured from a logger. */
export interface CapturedLog {
  logger: Logger;
  lines: () => any[];
}

/** A logger whose JSON lines the test can read back. */
export function captureLog(level: 'info' | 'warn' = 'info'): CapturedLog {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ service: 'iam', level, destination });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l)),
  };
}

/** A running IAM with its store. */
export interface Harness {
  iam: IamServer;
  store: Store;
  dataDir: string;
  call(method: string, path: string, body?: unknown, token?: string): Promise<Res>;
  /** Log in as the bootstrap admin; returns its access token. */
  adminToken(): Promise<string>;
  /** Restart IAM on the same store and data dir. */
  restart(over?: Partial<IamServerOptions>): Promise<void>;
  close(): Promise<void>;
}

/** Start IAM (default: auth mode `local`, silent logs). */
export async function startHarness(over: Partial<IamServerOptions> = {}): Promise<Harness> {
  const dir: TempDir = await tempDir('iam-test-');
  const cf = await openChainFire({ dataDir: `${dir.path}/chainfire` });
  const dataDir = `${dir.path}/iam`;
  const silent = createLogger({ service: 'iam', level: 'silent' });
  const opts = (): IamServerOptions => ({
    store: cf,
    auth: { mode: 'local' },
    logger: silent,
    dataDir,
    ...over,
  });
  let iam = await startIamServer(opts());
  const bootstrapPassword = iam.bootstrap?.password;
  const h: Harness = {
    get iam() {
      return iam;
    },
    store: cf,
    dataDir,
    async call(method, path, body, token) {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
      const res = await fetch(iam.url + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: any;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = text;
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async adminToken() {
      if (bootstrapPassword === undefined) throw new Error('no bootstrap credential in this harness');
      const r = await h.call('POST', '/api/v1/auth/login', {
        username: 'admin',
        password: bootstrapPassword,
      });
      if (r.status !== 200) throw new Error(`admin login: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.data.token as string;
    },
    async restart(more = {}) {
      await iam.close();
      iam = await startIamServer({ ...opts(), ...more });
    },
    async close() {
      await iam.close().catch(() => undefined);
      await cf.close();
      await dir.cleanup();
    },
  };
  return h;
}
