/**
 * NightLight: a Prometheus-compatible TSDB (ARCHITECTURE.md §1, port 9090). Serves the Prometheus
 * 2.42 HTTP API (Prometheus' JSON format, so Grafana works), receives remote write, and scrapes
 * configured targets. Samples live in the data dir (WAL + blocks); metric metadata in the store.
 */
import path from 'node:path';
import { createService } from '@photoncloud/http-kit';
import type { AuthOptions, Service } from '@photoncloud/http-kit';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { registerPrometheusApi } from './routes/prometheus-api.js';
import { Scraper } from './scrape.js';
import type { ScrapeTarget } from './scrape.js';
import { MetadataStore } from './storage/metadata-store.js';
import { Tsdb } from './storage/tsdb.js';

/** Options of `startNightLightServer`. */
export interface NightLightServerOptions {
  store: Store;
  host?: string;
  port?: number;
  auth: AuthOptions;
  logger?: Logger;
  /** WAL and blocks; default `./.data/nightlight`. */
  dataDir?: string;
  /** Targets to scrape (URLs of /metrics endpoints); the CLI passes every PhotonCloud service. */
  scrapeTargets?: readonly (string | ScrapeTarget)[];
  /** Scrape interval (ms); default 15 s. */
  scrapeIntervalMs?: number;
  /** Block range (ms); default 2 h. */
  blockRangeMs?: number;
  /** Retention (ms); default 15 d. */
  retentionMs?: number;
  /** How often compaction/retention runs (ms); default 1 min. */
  compactIntervalMs?: number;
  /** Query timeout (ms); default 2 min. */
  queryTimeoutMs?: number;
  /** Clock (ms); default Date.now. */
  now?: () => number;
}

/** A running NightLight. */
export interface NightLightServer {
  url: string;
  close(): Promise<void>;
  service: Service;
  db: Tsdb;
  scraper?: Scraper;
}

/** Start NightLight: open the TSDB (replaying its WAL), register the API, start scraping, listen. */
export async function startNightLightServer(opts: NightLightServerOptions): Promise<NightLightServer> {
  const dataDir = path.resolve(opts.dataDir ?? path.join('.data', 'nightlight'));
  const now = opts.now ?? Date.now;
  const db = Tsdb.open({
    dir: dataDir,
    ...(opts.blockRangeMs === undefined ? {} : { blockRange: opts.blockRangeMs }),
    ...(opts.retentionMs === undefined ? {} : { retention: opts.retentionMs }),
  });
  let service: Service | undefined;
  try {
    service = await createService({
      name: 'nightlight',
      version: '0.1.0',
      auth: opts.auth,
      store: opts.store,
      ...(opts.logger === undefined ? {} : { logger: opts.logger }),
      bodyLimit: 64 * 1024 * 1024,
      idempotency: false,
      description:
        "Prometheus-compatible TSDB. /api/v1/* answers in Prometheus' own JSON format (not the platform envelope).",
    });
    const svc = service;
    const metadata = new MetadataStore(opts.store);
    await registerPrometheusApi(svc.app, {
      db,
      metadata,
      now,
      ...(opts.queryTimeoutMs === undefined ? {} : { queryTimeout: opts.queryTimeoutMs }),
    });
    let scraper: Scraper | undefined;
    if (opts.scrapeTargets && opts.scrapeTargets.length > 0) {
      scraper = new Scraper(db, metadata, {
        targets: opts.scrapeTargets,
        now,
        logger: svc.logger,
        ...(opts.scrapeIntervalMs === undefined ? {} : { intervalMs: opts.scrapeIntervalMs }),
      });
    }
    const compactTimer = setInterval(() => {
      db.compact().catch((err: unknown) => svc.logger.error({ err }, 'compaction failed'));
    }, opts.compactIntervalMs ?? 60_000);
    compactTimer.unref();
    svc.onClose(async () => {
      clearInterval(compactTimer);
      await scraper?.stop();
      await db.close();
    });
    const addr = await svc.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 9090 });
    scraper?.start();
    return { url: addr.url, close: () => svc.close(), service: svc, db, ...(scraper ? { scraper } : {}) };
  } catch (err) {
    if (service) await service.close().catch(() => undefined);
    else await db.close().catch(() => undefined);
    throw err;
  }
}
