import type { Store } from '@photoncloud/store';
import { bytes, prefixEnd, text } from '@photoncloud/store';

/** Metadata of a metric family (HELP/TYPE/UNIT), as /api/v1/metadata reports it. */
export interface MetricMetadata {
  readonly type: string;
  readonly help: string;
  readonly unit: string;
}

const PREFIX = '/nightlight/metadata/';

/**
 * Metric metadata kept in the platform store (one key per metric family). Writes are skipped when
 * the value is unchanged, which is the common case for every scrape and remote-write request.
 */
export class MetadataStore {
  private readonly written = new Map<string, string>();

  constructor(private readonly store: Store) {}

  /** Records metadata of metric families. */
  async put(entries: Iterable<readonly [string, MetricMetadata]>): Promise<void> {
    for (const [metric, m] of entries) {
      if (metric === '') continue;
      const value = JSON.stringify({ type: m.type, help: m.help, unit: m.unit });
      if (this.written.get(metric) === value) continue;
      await this.store.put({ key: bytes(PREFIX + metric), value: bytes(value) });
      this.written.set(metric, value);
    }
  }

  /** Every metric family's metadata (optionally one), sorted by metric name. */
  async list(metric?: string): Promise<Map<string, MetricMetadata>> {
    const key = bytes(PREFIX + (metric ?? ''));
    const res =
      metric === undefined
        ? await this.store.range({ key, rangeEnd: prefixEnd(key) })
        : await this.store.range({ key });
    const out = new Map<string, MetricMetadata>();
    for (const kv of res.kvs) {
      const name = text(kv.key).slice(PREFIX.length);
      try {
        out.set(name, JSON.parse(text(kv.value)) as MetricMetadata);
      } catch {
        // A foreign value under our prefix is skipped rather than failing the API.
      }
    }
    return out;
  }
}
