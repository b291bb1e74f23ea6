/**
 * A CreditService server: the REST API on the platform's server kit over a `Store`, plus the
 * reservation-expiry controller. This is what `photoncloud serve creditservice` runs (apps/cli) and what
 * tests start in-process. Several instances may share one store: every change is a guarded store
 * transaction, the sweeper included.
 */
import { readFileSync } from 'node:fs';
import { createService } from '@photoncloud/http-kit';
import type { AuthOptions, Service } from '@photoncloud/http-kit';
import { createLogger } from '@photoncloud/log';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { registerCreditRoutes } from './routes/register-credit-routes.js';
import { CreditStore } from './storage/credit-store.js';
import { ExpirySweeper } from './storage/expiry-sweeper.js';

/** Default HTTP port (ARCHITECTURE.md §1). */
export const CREDITSERVICE_PORT = 8086;

/** CreditService's version (its package.json). */
export const CREDITSERVICE_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** Options of `startCreditServiceServer` (the service seam). */
export interface CreditServiceServerOptions {
  store: Store;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  auth: AuthOptions;
  logger?: Logger;
  /** Unused: all state is in the store. */
  dataDir?: string;
  /** How often the expiry controller looks for due reservations, in ms (default 1000; 0 = never). */
  sweepIntervalMs?: number;
  /** Milliseconds since the epoch; replaced in tests. */
  clock?: () => number;
  /** New IDs for `rsv-`/`txn-` prefixes; default random. */
  newId?: (prefix: string) => string;
}

/** A running CreditService. */
export interface CreditServiceServer {
  url: string;
  close(): Promise<void>;
  service: Service;
  /** The state operations (tests and audits). */
  credit: CreditStore;
}

/** Start CreditService: routes, listener, expiry controller. */
export async function startCreditServiceServer(
  opts: CreditServiceServerOptions,
): Promise<CreditServiceServer> {
  const logger = opts.logger ?? createLogger({ service: 'creditservice' });
  const credit = new CreditStore({
    store: opts.store,
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
    ...(opts.newId === undefined ? {} : { newId: opts.newId }),
  });
  const service = await createService({
    name: 'creditservice',
    version: CREDITSERVICE_VERSION,
    description: 'Wallets, a double-entry ledger, credit reservations and quotas.',
    logger,
    auth: opts.auth,
    store: opts.store,
  });
  registerCreditRoutes(service.app, credit);
  const sweeper = new ExpirySweeper(credit, {
    intervalMs: opts.sweepIntervalMs ?? 1000,
    logger: logger.child({ component: 'expiry' }),
  });
  service.onClose(() => sweeper.stop());
  try {
    const addr = await service.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
    sweeper.start();
    return { url: addr.url, close: () => service.close(), service, credit };
  } catch (err) {
    await service.close().catch(() => undefined);
    throw err;
  }
}
