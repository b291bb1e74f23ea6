/**
 * Scraping of configured targets (Prometheus text exposition format). Each target is fetched every
 * interval; its samples get `job` and `instance` labels, plus `up`, `scrape_duration_seconds` and
 * `scrape_samples_scraped`. Series that disappear, or all series of a target that went down, get a
 * staleness marker, as Prometheus does.
 */
import type { Logger } from '@photoncloud/log';
import { parseExposition } from './core/exposition.js';
import type { Labels } from './core/promql/labels.js';
import { labelsKey, METRIC_NAME, setLabel } from './core/promql/labels.js';
import type { MetadataStore } from './storage/metadata-store.js';
import type { AppendSeries, Tsdb } from './storage/tsdb.js';

/** A scrape target: a URL (its /metrics) and the job it belongs to. */
export interface ScrapeTarget {
  readonly url: string;
  /** Default `nightlight`. */
  readonly job?: string;
  /** Extra target labels. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Scraper settings. */
export interface ScraperOptions {
  readonly targets: readonly (string | ScrapeTarget)[];
  /** Default 15 s. */
  readonly intervalMs?: number;
  /** Default 10 s (capped at the interval). */
  readonly timeoutMs?: number;
  readonly now: () => number;
  readonly logger?: Logger;
}

/** Outcome of one scrape. */
export interface ScrapeResult {
  readonly url: string;
  readonly up: boolean;
  readonly samples: number;
  readonly error?: string;
}

interface TargetState {
  readonly target: ScrapeTarget;
  readonly baseLabels: Labels;
  previous: Map<string, Labels>;
  timer?: NodeJS.Timeout;
  running?: Promise<ScrapeResult>;
}

function targetLabels(t: ScrapeTarget): Labels {
  const u = new URL(t.url);
  let l: Labels = [];
  for (const [k, v] of Object.entries(t.labels ?? {})) l = setLabel(l, k, v);
  l = setLabel(l, 'job', t.job ?? 'nightlight');
  l = setLabel(l, 'instance', u.host);
  return l;
}

/** Scrapes targets on a timer into the TSDB. */
export class Scraper {
  private readonly states: TargetState[];
  private readonly interval: number;
  private readonly timeout: number;
  private stopped = false;

  constructor(
    private readonly db: Tsdb,
    private readonly metadata: MetadataStore | undefined,
    private readonly opts: ScraperOptions,
  ) {
    this.interval = opts.intervalMs ?? 15_000;
    this.timeout = Math.min(opts.timeoutMs ?? 10_000, this.interval);
    this.states = opts.targets.map((t) => {
      const target = typeof t === 'string' ? { url: t } : t;
      return { target, baseLabels: targetLabels(target), previous: new Map() };
    });
  }

  /** Starts the scrape loops (each target offset within the interval to spread the load). */
  start(): void {
    this.states.forEach((s, i) => {
      const offset = Math.floor((this.interval * i) / Math.max(1, this.states.length));
      const tick = (): void => {
        if (this.stopped) return;
        s.running = this.scrapeTarget(s).finally(() => {
          s.running = undefined;
        });
        s.timer = setTimeout(tick, this.interval);
      };
      s.timer = setTimeout(tick, offset);
    });
  }

  /** Scrapes every target once, now (used by tests and on demand). */
  async scrapeAll(): Promise<ScrapeResult[]> {
    return Promise.all(this.states.map((s) => this.scrapeTarget(s)));
  }

  private async scrapeTarget(s: TargetState): Promise<ScrapeResult> {
    const started = this.opts.now();
    const ts = started;
    let body: string | undefined;
    let error: string | undefined;
    try {
      const res = await fetch(s.target.url, {
        headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
        signal: AbortSignal.timeout(this.timeout),
      });
      if (res.status !== 200) error = `server returned HTTP status ${res.status}`;
      else body = await res.text();
    } catch (err) {
      error = (err as Error).message;
    }
    const batch: AppendSeries[] = [];
    const current = new Map<string, Labels>();
    let samples = 0;
    if (body !== undefined) {
      try {
        const exp = parseExposition(body);
        for (const smp of exp.samples) {
          let labels = smp.labels;
          for (const l of s.baseLabels) {
            // honor_labels: false — a clashing scraped label is kept as exported_<name>.
            const existing = labels.find((x) => x.name === l.name);
            if (existing) labels = setLabel(labels, 'exported_' + l.name, existing.value);
            labels = setLabel(labels, l.name, l.value);
          }
          current.set(labelsKey(labels), labels);
          batch.push({ labels, samples: [{ t: smp.t ?? ts, v: smp.value }] });
          samples++;
        }
        if (this.metadata)
          await this.metadata.put(
            [...exp.metadata.values()].map(
              (m) => [m.metric, { type: m.type, help: m.help, unit: m.unit }] as const,
            ),
          );
      } catch (err) {
        error = (err as Error).message;
        batch.length = 0;
        current.clear();
        samples = 0;
      }
    }
    const up = error === undefined;
    for (const [k, l] of s.previous)
      if (!current.has(k)) batch.push({ labels: l, samples: [{ t: ts, v: NaN, stale: true }] });
    s.previous = current;
    const duration = (this.opts.now() - started) / 1000;
    const meta = (name: string, v: number): AppendSeries => ({
      labels: setLabel(s.baseLabels, METRIC_NAME, name),
      samples: [{ t: ts, v }],
    });
    batch.push(
      meta('up', up ? 1 : 0),
      meta('scrape_duration_seconds', duration),
      meta('scrape_samples_scraped', samples),
    );
    try {
      await this.db.append(batch, { skipInvalid: true });
    } catch (err) {
      this.opts.logger?.warn({ err, target: s.target.url }, 'scrape: append failed');
    }
    if (error !== undefined) this.opts.logger?.debug({ target: s.target.url, error }, 'scrape failed');
    return error === undefined
      ? { url: s.target.url, up, samples }
      : { url: s.target.url, up, samples, error };
  }

  /** Stops the loops and waits for scrapes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.states) if (s.timer) clearTimeout(s.timer);
    await Promise.all(this.states.map((s) => s.running));
  }
}
