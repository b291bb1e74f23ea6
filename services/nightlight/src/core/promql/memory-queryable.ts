import type { Matcher } from './ast.js';
import type { Queryable, RawSeries } from './engine.js';
import type { Labels } from './labels.js';
import { getLabel, labelsKey } from './labels.js';
import { matcherMatches } from './parser.js';

interface MutableSeries {
  labels: Labels;
  t: number[];
  v: number[];
  stale: number[];
  hasStale: boolean;
}

/** A small in-memory series set (test scripts, unit tests); samples must be appended in time order. */
export class MemoryQueryable implements Queryable {
  private readonly series = new Map<string, MutableSeries>();

  /** Appends one sample; `stale` marks a staleness marker. */
  append(labels: Labels, t: number, v: number, stale = false): void {
    const key = labelsKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, t: [], v: [], stale: [], hasStale: false };
      this.series.set(key, s);
    }
    const last = s.t[s.t.length - 1];
    if (last !== undefined && t <= last) {
      if (t === last) {
        s.v[s.v.length - 1] = v;
        s.stale[s.stale.length - 1] = stale ? 1 : 0;
        return;
      }
      throw new Error(`out of order sample at ${t} for ${key}`);
    }
    s.t.push(t);
    s.v.push(v);
    s.stale.push(stale ? 1 : 0);
    if (stale) s.hasStale = true;
  }

  /** Drops every series. */
  clear(): void {
    this.series.clear();
  }

  select(matchers: readonly Matcher[], _mint: number, _maxt: number): RawSeries[] {
    const out: RawSeries[] = [];
    for (const s of this.series.values()) {
      if (matchers.every((m) => matcherMatches(m, getLabel(s.labels, m.name)))) {
        out.push(
          s.hasStale
            ? { labels: s.labels, t: s.t, v: s.v, stale: s.stale }
            : { labels: s.labels, t: s.t, v: s.v },
        );
      }
    }
    return out;
  }
}
