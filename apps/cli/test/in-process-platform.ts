/**
 * The whole platform in this process, for cross-service tests: every service of the registry (`SERVICES`,
 * in `up`'s order) started the way `serve` starts it — its listeners on free ports, its state in ChainFire
 * over the etcd gRPC API, the other services' URLs, and the CLI's own `buildAuth` settings.
 */
import { createLogger } from '@photoncloud/log';
import { EtcdStore } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';
import { freePort, tempDir } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { buildAuth } from '../src/auth.js';
import type { BuiltAuth } from '../src/auth.js';
import { SERVICES } from '../src/services.js';
import { storeAccess } from '../src/store-access.js';
import type { RunningService } from '../src/services.js';

/** A running in-process platform. */
export interface InProcessPlatform {
  /** REST base URL by service name. */
  urls: Map<string, string>;
  dir: TempDir;
  close(): Promise<void>;
}

/** Start every registry service in auth mode `mode` (`local` on loopback: no token acts as the local admin). */
export async function startInProcessPlatform(
  mode: 'local' | 'required' = 'local',
): Promise<InProcessPlatform> {
  const logger = createLogger({ service: 'platform-test', level: 'silent' });
  const dir = await tempDir('platform-');
  const stores: Store[] = [];
  const auths: BuiltAuth[] = [];
  const running: RunningService[] = [];
  const urls = new Map<string, string>();
  const close = async (): Promise<void> => {
    for (const svc of running.reverse()) await svc.close().catch(() => undefined);
    for (const a of auths) await a.close().catch(() => undefined);
    for (const s of stores) await s.close().catch(() => undefined);
    await dir.cleanup();
  };
  try {
    const grpcPort = await freePort();
    const iamPort = await freePort();
    const openStore = async (): Promise<Store> => {
      // As `serve` does: the cluster secret ChainFire keeps under the platform data directory.
      const s = new EtcdStore({
        endpoints: [`127.0.0.1:${grpcPort}`],
        dialTimeoutMs: 2000,
        ...storeAccess(dir.path, {}),
      });
      stores.push(s);
      return s;
    };
    for (const def of SERVICES) {
      const ports = Object.fromEntries(
        def.listeners.map((l) => [
          l.name,
          l.name === 'grpc' && def.name === 'chainfire' ? grpcPort : def.name === 'iam' ? iamPort : 0,
        ]),
      );
      const jwksUrl = `http://127.0.0.1:${iamPort}/.well-known/jwks.json`;
      const auth = buildAuth({ mode, jwksUrl, store: openStore, serviceName: def.name, logger });
      auths.push(auth);
      const svc = await def.start({
        dataDir: `${dir.path}/${def.name}`,
        host: '127.0.0.1',
        ports,
        authMode: mode,
        jwksUrl,
        auth,
        storeEndpoints: [`127.0.0.1:${grpcPort}`],
        serviceUrls: Object.fromEntries(urls),
        openStore,
        logger,
      });
      running.push(svc);
      const http = svc.listeners.find((l) => l.name === 'http');
      if (http?.url === undefined) throw new Error(`${def.name} has no HTTP listener`);
      urls.set(def.name, http.url);
    }
    for (const a of auths) await a.ready;
  } catch (err) {
    await close();
    throw err;
  }
  return { urls, dir, close };
}
