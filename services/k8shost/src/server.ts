/**
 * A k8shost server: the REST API (guide §5) plus its controller (scheduler + endpoints), with all state
 * in the given Store. Pods run on node agents (services/node-agent), which watch the same store.
 * This is what `photoncloud serve k8shost` runs and what tests start in-process.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { httpUrl } from '@photoncloud/config';
import { createService, rfc3339 } from '@photoncloud/http-kit';
import type { AuthOptions, Service } from '@photoncloud/http-kit';
import { createLogger } from '@photoncloud/log';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { startController } from './controller.js';
import { parseCidr4 } from './core/ipv4.js';
import { registerK8sRoutes } from './routes/index.js';
import { K8sRepo } from './storage/k8s-repo.js';

/** k8shost's default HTTP port (guide §5). */
export const K8SHOST_DEFAULT_PORT = 8085;

/** The default service CIDR (cluster IPs). */
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';

/** k8shost's version (its package.json). */
export const K8SHOST_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** How to run one k8shost server. */
export interface K8sHostServerOptions {
  /** Where all state lives; not closed by `close()`. */
  store: Store;
  host?: string;
  /** Default 0 (a free port); the CLI passes 8085. */
  port?: number;
  auth: AuthOptions;
  logger?: Logger;
  /** Service CIDR for cluster IPs; default 10.96.0.0/16 (env PHOTONCLOUD_K8SHOST_SERVICE_CIDR in the CLI). */
  serviceCidr?: string;
  dataDir?: string;
}

/** A running k8shost. */
export interface K8sHostServer {
  url: string;
  close(): Promise<void>;
  service: Service;
}

/** Start k8shost. */
export async function startK8sHostServer(opts: K8sHostServerOptions): Promise<K8sHostServer> {
  const logger = opts.logger ?? createLogger({ service: 'k8shost' });
  const cidrText = opts.serviceCidr ?? DEFAULT_SERVICE_CIDR;
  const cidr = parseCidr4(cidrText);
  if (cidr === null) throw new Error(`bad service CIDR ${cidrText}`);
  const service = await createService({
    name: 'k8shost',
    version: K8SHOST_VERSION,
    description: 'Pods on runc node agents, ClusterIP services and nodes.',
    logger,
    auth: opts.auth,
    store: opts.store,
  });
  const repo = new K8sRepo(opts.store, cidr);
  const controller = await startController(repo, logger);
  try {
    registerK8sRoutes(service.app, {
      repo,
      newUid: () => randomBytes(8).toString('hex'),
      now: () => rfc3339(),
      randomOffset: () => randomInt(0, 2 ** 31 - 1),
      kick: () => controller.kick(),
    });
    const host = opts.host ?? '127.0.0.1';
    const addr = await service.listen({ host, port: opts.port ?? 0 });
    let closed = false;
    return {
      url: httpUrl(host, addr.port),
      close: async () => {
        if (closed) return;
        closed = true;
        await controller.close();
        await service.close();
      },
      service,
    };
  } catch (err) {
    await controller.close().catch(() => undefined);
    await service.close().catch(() => undefined);
    throw err;
  }
}
