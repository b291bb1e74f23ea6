/**
 * NightLight in the service registry (ARCHITECTURE.md §1: HTTP 9090): Prometheus-compatible TSDB with
 * the Prometheus HTTP API, remote write and scraping. Samples (WAL + blocks) live in the data dir;
 * metric metadata in ChainFire (`ctx.openStore()`).
 */
import { restService } from './rest-service.js';

/**
 * Scrape targets: `PHOTONCLOUD_NIGHTLIGHT_SCRAPE_TARGETS`, comma-separated `/metrics` URLs, each optionally
 * `job=url` (the `job` label; default `nightlight`). `photoncloud up` sets it to every service's /metrics,
 * job = service name, unless the operator already has.
 */
function scrapeTargets(): Array<{ url: string; job?: string }> {
  const env = process.env['PHOTONCLOUD_NIGHTLIGHT_SCRAPE_TARGETS'] ?? '';
  return env
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const m = /^([a-zA-Z_][a-zA-Z0-9_-]*)=(.+)$/.exec(s);
      return m === null ? { url: s } : { job: m[1]!, url: m[2]! };
    });
}

/** NightLight's entry for `photoncloud up` / `photoncloud serve nightlight`. */
export const nightlight = restService({
  name: 'nightlight',
  title: 'NightLight',
  summary: 'Prometheus-compatible TSDB (PromQL, Prometheus HTTP API, remote write, scraping)',
  defaultPort: 9090,
  description: 'Prometheus HTTP API + remote write',
  async start(opts) {
    const { startNightLightServer } = await import('../../../../services/nightlight/src/server.js');
    return startNightLightServer({ ...opts, scrapeTargets: scrapeTargets() });
  },
});
