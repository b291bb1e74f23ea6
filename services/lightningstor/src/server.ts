/**
 * LightningSTOR: S3-compatible object storage (ARCHITECTURE.md §1, port 9000).
 *
 * One HTTP listener serves two APIs: the S3 API (XML, SigV4, streamed bodies) on plain node:http, and
 * the platform's JSON routes (`/health`, `/metrics`, `/api/v1/access-keys`, OpenAPI) through http-kit.
 * A request goes to http-kit when it carries no S3 signature, is not virtual-host style, and its path
 * is one of those JSON routes; everything else is S3.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { createService } from '@photoncloud/http-kit';
import type { AuthOptions, Service } from '@photoncloud/http-kit';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { Counter, Histogram } from 'prom-client';
import { registerAccessKeyRoutes } from './routes/access-keys.js';
import { handleS3 } from './s3/handler.js';
import type { S3HandlerOptions } from './s3/handler.js';
import { KeyStore } from './storage/key-store.js';
import type { AccessKey } from './storage/key-store.js';
import { ObjectStore } from './storage/object-store.js';

/** Options of `startLightningStorServer`. */
export interface LightningStorServerOptions {
  store: Store;
  host?: string;
  port?: number;
  auth: AuthOptions;
  logger?: Logger;
  /** Where objects and their metadata live; default `./.data/lightningstor`. */
  dataDir?: string;
  /** Host suffixes for virtual-host style addressing; default `['localhost']`. */
  virtualHostSuffixes?: string[];
  /** Smallest multipart part except the last; default 5 MiB (S3's). */
  minPartSize?: number;
}

/** A running LightningSTOR. */
export interface LightningStorServer {
  url: string;
  close(): Promise<void>;
  service: Service;
  /** The root access key (also in `<dataDir>/root-credentials.json`). */
  rootKey: AccessKey;
  dataDir: string;
}

const JSON_PATHS = /^\/(health|metrics)$|^\/api\/v1\/(access-keys|openapi\.json)(\/|$)/;

function isS3Request(req: IncomingMessage, suffixes: string[]): boolean {
  const url = req.url ?? '/';
  const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
  if (suffixes.some((s) => host.endsWith(`.${s}`))) return true;
  const auth = req.headers.authorization;
  if (auth !== undefined && auth.startsWith('AWS4-HMAC-SHA256')) return true;
  if (url.includes('X-Amz-Signature=') || url.includes('X-Amz-Credential=')) return true;
  const qi = url.indexOf('?');
  return !JSON_PATHS.test(qi < 0 ? url : url.slice(0, qi));
}

/** Start LightningSTOR. */
export async function startLightningStorServer(
  opts: LightningStorServerOptions,
): Promise<LightningStorServer> {
  const dataDir = path.resolve(opts.dataDir ?? path.join('.data', 'lightningstor'));
  const objects = await ObjectStore.open(dataDir);
  const keys = new KeyStore(opts.store);
  let service: Service | undefined;
  try {
    service = await createService({
      name: 'lightningstor',
      version: '0.1.0',
      auth: opts.auth,
      store: opts.store,
      ...(opts.logger === undefined ? {} : { logger: opts.logger }),
      description: 'S3-compatible object storage. The S3 API is served on the same port (XML, SigV4).',
    });
    const svc = service;
    const rootKey = await keys.ensureRoot(dataDir, svc.logger, new Date());
    registerAccessKeyRoutes(svc.app, keys);
    const suffixes = opts.virtualHostSuffixes ?? ['localhost'];
    const s3: S3HandlerOptions = {
      objects,
      keys,
      logger: svc.logger,
      virtualHostSuffixes: suffixes,
      anonymousLoopbackIsAdmin: opts.auth.mode === 'local',
      ...(opts.minPartSize === undefined ? {} : { minPartSize: opts.minPartSize }),
    };
    const s3Requests = new Counter({
      name: 'lightningstor_s3_requests_total',
      help: 'S3 API requests by method and status code',
      labelNames: ['method', 'status_code'],
      registers: [svc.metrics],
    });
    const s3Duration = new Histogram({
      name: 'lightningstor_s3_request_duration_seconds',
      help: 'S3 API request duration (until the response is written)',
      labelNames: ['method', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [svc.metrics],
    });
    // Put the S3 handler in front of fastify's request listener on the same server.
    const server = svc.app.server;
    const fastifyListeners = server.listeners('request') as Array<
      (req: IncomingMessage, res: ServerResponse) => void
    >;
    server.removeAllListeners('request');
    let closing = false;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (isS3Request(req, suffixes)) {
        if (closing) {
          res.writeHead(503, { Connection: 'close', 'Content-Type': 'application/xml' });
          res.end(
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code><Message>Service is shutting down</Message></Error>',
          );
          return;
        }
        const started = performance.now();
        res.once('finish', () => {
          const labels = { method: req.method ?? 'GET', status_code: String(res.statusCode) };
          s3Requests.inc(labels);
          s3Duration.observe(labels, (performance.now() - started) / 1000);
        });
        void handleS3(req, res, s3);
        return;
      }
      for (const l of fastifyListeners) l.call(server, req, res);
    });
    // Large objects take a while; node's default 5-minute request timeout would cut long uploads.
    server.requestTimeout = 0;
    svc.onClose(async () => {
      await objects.close();
    });
    const addr = await svc.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 9000 });
    return {
      url: addr.url,
      service: svc,
      rootKey,
      dataDir,
      close: async () => {
        closing = true;
        await svc.close();
      },
    };
  } catch (err) {
    if (service !== undefined) await service.close().catch(() => undefined);
    else await objects.close().catch(() => undefined);
    throw err;
  }
}
