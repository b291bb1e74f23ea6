/**
 * A PlasmaVMC server: the REST API (guide §4) on the platform's server kit. VM specs, statuses and image
 * records live in the given Store; image bytes under `<dataDir>/images`. The QEMU side is the node agent's
 * VM component (services/node-agent/src/vm), which watches the same keys. This is what
 * `photoncloud serve plasmavmc` runs (apps/cli/src/services/plasmavmc.ts) and what tests start in-process.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { httpUrl } from '@photoncloud/config';
import { createService, rfc3339 } from '@photoncloud/http-kit';
import type { AuthOptions, Service } from '@photoncloud/http-kit';
import { createLogger } from '@photoncloud/log';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { registerConsole, registerImageRoutes, registerVmRoutes } from './routes/index.js';
import { ImageFiles } from './storage/image-files.js';
import { VmRepo } from './storage/vm-repo.js';

/** PlasmaVMC's default HTTP port (ARCHITECTURE.md §1). */
export const PLASMAVMC_DEFAULT_PORT = 8084;

/** PlasmaVMC's version (its package.json). */
export const PLASMAVMC_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** How to run one PlasmaVMC server. */
export interface PlasmaVmcServerOptions {
  /** Where all state lives; not closed by `close()` (its owner closes it). */
  store: Store;
  /** Image files go to `<dataDir>/images` (the node agent reads them from there). */
  dataDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port chosen by the OS (the CLI passes 8084). */
  port?: number;
  auth: AuthOptions;
  logger?: Logger;
  /** Base URLs of PrismNET (`prismnet`) and CreditService (`creditservice`); a missing one is not used. */
  serviceUrls?: Record<string, string>;
  /** Largest image upload, bytes; default 64 GiB. */
  maxUploadBytes?: number;
  /** ID generator (tests pin the guide's IDs); default `newId`. */
  newId?: (prefix: string) => string;
}

/** A running PlasmaVMC server. */
export interface PlasmaVmcServer {
  /** Base URL, e.g. `http://127.0.0.1:8084`. */
  url: string;
  /** Stop accepting, drain in-flight requests, end console sessions. Idempotent. */
  close(): Promise<void>;
  service: Service;
}

/** A prefixed random ID (`vm-3f9c…`): 64 random bits, hex. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

/** Start PlasmaVMC. */
export async function startPlasmaVmcServer(opts: PlasmaVmcServerOptions): Promise<PlasmaVmcServer> {
  const logger = opts.logger ?? createLogger({ service: 'plasmavmc' });
  const imagesDir = resolve(join(opts.dataDir, 'images'));
  await promisify(mkdir)(imagesDir, { recursive: true });
  const service = await createService({
    name: 'plasmavmc',
    version: PLASMAVMC_VERSION,
    description: 'VM lifecycle on QEMU (KVM when the host has it): VMs, images and serial consoles.',
    logger,
    auth: opts.auth,
    store: opts.store,
  });
  try {
    const repo = new VmRepo(opts.store);
    const now = () => rfc3339();
    const ids = opts.newId ?? newId;
    registerVmRoutes(service.app, {
      repo,
      newId: ids,
      now,
      nowMs: () => Date.now(),
      randomBytes: (n) => randomBytes(n),
      serviceUrls: opts.serviceUrls ?? {},
    });
    await registerImageRoutes(service.app, {
      repo,
      files: new ImageFiles(imagesDir),
      newId: ids,
      now,
      maxUploadBytes: opts.maxUploadBytes ?? 64 * 1024 * 1024 * 1024,
    });
    const consoleWs = registerConsole(service.app, { repo, nowMs: () => Date.now(), logger });
    service.onClose(() => consoleWs.close());
    const host = opts.host ?? '127.0.0.1';
    const addr = await service.listen({ host, port: opts.port ?? 0 });
    return { url: httpUrl(host, addr.port), close: () => service.close(), service };
  } catch (err) {
    await service.close().catch(() => undefined);
    throw err;
  }
}
