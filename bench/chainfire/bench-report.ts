/** The comparison table (ChainFire vs etcd, ratio ChainFire/etcd) and the JSON result of a bench run. */
import type { CheckPerfResult } from './check-perf.js';
import type { LoadResult } from './load-generator.js';

/** One line of the comparison. */
export interface MetricRow {
  metric: string;
  /** Which direction is better for this metric. */
  better: 'higher' | 'lower' | null;
  chainfire: number | string | null;
  etcd: number | string | null;
  /** ChainFire / etcd, when both are numbers and etcd's is not 0. */
  ratio: number | null;
}

/** A load-generator scenario measured on both targets (either may be missing if it failed). */
export interface ScenarioPair {
  /** e.g. `put c=16`. */
  name: string;
  /** The best round (highest throughput) per target. */
  chainfire: ScenarioResult | null;
  etcd: ScenarioResult | null;
  /** Every round's result, in the order run. */
  rounds?: { chainfire: ScenarioResult[]; etcd: ScenarioResult[] };
}

/** The round with the highest throughput: the one least disturbed by anything else on the machine. */
export function bestRound(results: readonly ScenarioResult[]): ScenarioResult | null {
  let best: ScenarioResult | null = null;
  for (const r of results) if (best === null || r.opsPerSec > best.opsPerSec) best = r;
  return best;
}

/** Warnings for results measured while other processes used more than `threshold` of the machine. */
export function interferenceWarnings(pairs: readonly ScenarioPair[], threshold = 0.15): string[] {
  const out: string[] = [];
  for (const p of pairs) {
    for (const side of ['chainfire', 'etcd'] as const) {
      const share = p[side]?.otherCpuShare;
      if (share != null && share > threshold) {
        out.push(
          `${p.name} on ${side}: other processes used ${(share * 100).toFixed(0)}% of the machine's CPU`,
        );
      }
    }
  }
  return out;
}

/** A load result plus the server-side cost of it and how busy the rest of the machine was. */
export interface ScenarioResult extends LoadResult {
  /** Server CPU seconds during the measured phase. */
  serverCpuSec: number | null;
  /**
   * CPU seconds used by every other process (not the server, not the bench) during the measured phase,
   * and that as a share of the machine's capacity (0..1): interference that makes figures unreliable.
   */
  otherCpuSec: number | null;
  otherCpuShare: number | null;
}

/** ChainFire / etcd, or null when either is missing or etcd's figure is 0. */
export function ratio(chainfire: number | null | undefined, etcd: number | null | undefined): number | null {
  if (
    chainfire == null ||
    etcd == null ||
    !Number.isFinite(chainfire) ||
    !Number.isFinite(etcd) ||
    etcd === 0
  )
    return null;
  return chainfire / etcd;
}

function row(
  metric: string,
  better: MetricRow['better'],
  cf: number | string | null,
  et: number | string | null,
): MetricRow {
  return {
    metric,
    better,
    chainfire: cf,
    etcd: et,
    ratio: typeof cf === 'number' && typeof et === 'number' ? ratio(cf, et) : null,
  };
}

/** Server CPU microseconds per successful request. */
export function cpuMicrosPerOp(r: ScenarioResult | null): number | null {
  if (!r || r.serverCpuSec === null || r.ops === 0) return null;
  return (r.serverCpuSec * 1e6) / r.ops;
}

/** The rows of `etcdctl check perf`. */
export function checkPerfRows(cf: CheckPerfResult | null, et: CheckPerfResult | null): MetricRow[] {
  const load = cf?.load ?? et?.load ?? 's';
  const verdict = (r: CheckPerfResult | null): string | null =>
    r === null ? null : r.passed ? 'PASS' : r.failure ? `FAIL (${r.failure.slice(0, 40)})` : 'FAIL';
  const ms = (s: number | null | undefined): number | null => (s == null ? null : s * 1000);
  return [
    row(`check perf --load=${load}: verdict`, null, verdict(cf), verdict(et)),
    row(
      `check perf --load=${load}: writes/s`,
      'higher',
      cf?.throughputWritesPerSec ?? null,
      et?.throughputWritesPerSec ?? null,
    ),
    row(`check perf --load=${load}: slowest ms`, 'lower', ms(cf?.slowestSec), ms(et?.slowestSec)),
    row(`check perf --load=${load}: stddev ms`, 'lower', ms(cf?.stddevSec), ms(et?.stddevSec)),
  ];
}

/** The rows of one load-generator scenario. */
export function scenarioRows(p: ScenarioPair): MetricRow[] {
  const unit = p.chainfire?.op === 'put' || p.etcd?.op === 'put' ? 'writes/s' : 'reads/s';
  const lat = (r: ScenarioResult | null, k: 'p50' | 'p99' | 'max'): number | null =>
    r && r.ops > 0 ? r.latency[k] : null;
  const errs = (r: ScenarioResult | null): number | null =>
    r === null ? null : Object.values(r.errors).reduce((a, b) => a + b, 0);
  const rows = [
    row(`${p.name}: ${unit}`, 'higher', p.chainfire?.opsPerSec ?? null, p.etcd?.opsPerSec ?? null),
    row(`${p.name}: p50 ms`, 'lower', lat(p.chainfire, 'p50'), lat(p.etcd, 'p50')),
    row(`${p.name}: p99 ms`, 'lower', lat(p.chainfire, 'p99'), lat(p.etcd, 'p99')),
    row(`${p.name}: max ms`, 'lower', lat(p.chainfire, 'max'), lat(p.etcd, 'max')),
    row(`${p.name}: server CPU µs/op`, 'lower', cpuMicrosPerOp(p.chainfire), cpuMicrosPerOp(p.etcd)),
  ];
  const ce = errs(p.chainfire);
  const ee = errs(p.etcd);
  if ((ce ?? 0) > 0 || (ee ?? 0) > 0) rows.push(row(`${p.name}: errors`, 'lower', ce, ee));
  return rows;
}

/** Numbers with sensible precision: 3 significant digits, integers above 1000. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toString();
  if (a === 0) return '0';
  return Number(n.toPrecision(3)).toString();
}

function cell(v: number | string | null): string {
  if (v === null) return '—';
  return typeof v === 'number' ? formatNumber(v) : v;
}

/** Who the ratio favours: `ChainFire 1.8x better`, `etcd 2.5x better`, `even` (within 5 %). */
export function verdict(r: MetricRow): string {
  if (r.ratio === null || r.better === null) return '';
  if (r.ratio === 0) return r.better === 'lower' ? 'ChainFire better' : 'etcd better';
  const cfBetterBy = r.better === 'higher' ? r.ratio : 1 / r.ratio;
  if (Math.abs(cfBetterBy - 1) < 0.05) return 'even';
  return cfBetterBy > 1
    ? `ChainFire ${formatNumber(cfBetterBy)}x better`
    : `etcd ${formatNumber(1 / cfBetterBy)}x better`;
}

/** A plain-text table: metric | ChainFire | etcd | ChainFire/etcd | better | verdict. */
export function formatTable(rows: readonly MetricRow[]): string {
  const header = ['metric', 'ChainFire', 'etcd 3.4', 'ratio CF/etcd', 'better', 'verdict'];
  const body = rows.map((r) => [
    r.metric,
    cell(r.chainfire),
    cell(r.etcd),
    r.ratio === null ? '—' : formatNumber(r.ratio),
    r.better ?? '',
    verdict(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const numeric = [false, true, true, true, false, false];
  const fmt = (cells: string[]): string =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}
