/**
 * A PrismNET server: the REST API (guide §7) on the platform's server kit, with all state in the given
 * Store (ChainFire in-process, its etcd v3 API, or etcd). This is what `photoncloud serve prismnet`
 * runs (apps/cli/src/services/prismnet.ts) and what tests start in-process.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { httpUrl } from '@photoncloud/config';
import { createService, rfc3339 } from '@photoncloud/http-kit';
import type { AuthOptions, Service } from '@photoncloud/http-kit';
import { createLogger } from '@photoncloud/log';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { registerPrismNetRoutes } from './routes/index.js';
import { PrismNetRepo } from './storage/prismnet-repo.js';

/** PrismNET's default HTTP port (ARCHITECTURE.md §1). */
export const PRISMNET_DEFAULT_PORT = 8087;

/** PrismNET's version (its package.json). */
export const PRISMNET_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** How to run one PrismNET server. */
export interface PrismNetServerOptions {
  /** Where all state lives; not closed by `close()` (its owner closes it). */
  store: Store;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port chosen by the OS (the CLI passes 8087). */
  port?: number;
  auth: AuthOptions;
  logger?: Logger;
  /** Unused: PrismNET keeps nothing on local disk. */
  dataDir?: string;
}

/** A running PrismNET server. */
export interface PrismNetServer {
  /** Base URL, e.g. `http://127.0.0.1:8087`. */
  url: string;
  /** Stop accepting, drain in-flight requests. Idempotent. */
  close(): Promise<void>;
  service: Service;
}

/** A prefixed random ID (`vpc-3f9c…`): 64 random bits, hex. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

/** Start PrismNET. */
export async function startPrismNetServer(opts: PrismNetServerOptions): Promise<PrismNetServer> {
  const logger = opts.logger ?? createLogger({ service: 'prismnet' });
  const service = await createService({
    name: 'prismnet',
    version: PRISMNET_VERSION,
    description: 'Multi-tenant VPCs, subnets, ports (IPAM) and security groups.',
    logger,
    auth: opts.auth,
    store: opts.store,
  });
  try {
    const now = () => rfc3339();
    const repo = new PrismNetRepo({ store: opts.store, newId, now, randomBytes: (n) => randomBytes(n) });
    registerPrismNetRoutes(service.app, { repo, newId, now });
    const host = opts.host ?? '127.0.0.1';
    const addr = await service.listen({ host, port: opts.port ?? 0 });
    return { url: httpUrl(host, addr.port), close: () => service.close(), service };
  } catch (err) {
    await service.close().catch(() => undefined);
    throw err;
  }
}
