/** Latency samples and their summary (percentiles, mean, stddev), as the load generator reports them. */

/** A growable buffer of latency samples in milliseconds (a typed array, so millions of samples stay cheap). */
export class LatencySamples {
  private data = new Float64Array(4096);
  private n = 0;

  /** Number of samples recorded. */
  get count(): number {
    return this.n;
  }

  /** Record one latency in milliseconds. */
  add(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  /** A sorted copy of the samples. */
  sorted(): Float64Array {
    return this.data.slice(0, this.n).sort();
  }
}

/** Summary of a set of latencies, all in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  stddev: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * The q-quantile (0..1) of ascending `sorted` by the nearest-rank method: the smallest sample such that
 * at least q of all samples are <= it. Nearest-rank never invents a value that was not measured.
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be within [0, 1], got ${q}`);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

/** Summarise latency samples (NaN everywhere when there are none). */
export function summarizeLatencies(samples: LatencySamples | readonly number[]): LatencySummary {
  const sorted = samples instanceof LatencySamples ? samples.sorted() : Float64Array.from(samples).sort();
  const count = sorted.length;
  if (count === 0) {
    return { count, mean: NaN, stddev: NaN, min: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
  }
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = sum / count;
  let sq = 0;
  for (const v of sorted) sq += (v - mean) * (v - mean);
  return {
    count,
    mean,
    // Population stddev, as etcd's report package computes it for `check perf`.
    stddev: Math.sqrt(sq / count),
    min: sorted[0] as number,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted[count - 1] as number,
  };
}
