/**
 * `etcdctl check perf` (Debian's etcdctl 3.4) against one endpoint, and the parser of its report.
 *
 * What etcdctl prints (read from its real output): a progress bar redrawn with carriage returns, then
 * — with no line break after the bar — these lines, each either passing or failing:
 *   PASS: Throughput is 146 writes/s          | FAIL: Throughput too low: 72 writes/s
 *   PASS: Slowest request took 0.074880s      | Slowest request took too long: 1.354317s   (no FAIL: prefix)
 *   PASS: Stddev is 0.005760s                 | Stddev too high: 0.452125s                 (no FAIL: prefix)
 * optionally preceded by `FAIL: too many errors` and `FAIL: ERROR(<err>) -> <count>` lines, and followed
 * by a verdict line `PASS` or `FAIL` (exit status 0 or non-zero). Setup errors go to stderr as
 * `Error: <message>` with no report at all.
 */
import { run } from '@photoncloud/test-utils';

/** The workload models etcdctl 3.4 knows: writes/s target and client count, each run for 60 s. */
export const CHECK_PERF_LOADS = {
  s: { limit: 150, clients: 50 },
  m: { limit: 1000, clients: 200 },
  l: { limit: 8000, clients: 500 },
  xl: { limit: 15000, clients: 1000 },
} as const;

/** A `--load` value. */
export type CheckPerfLoad = keyof typeof CHECK_PERF_LOADS;

/** One `etcdctl check perf` run as parsed from its output. */
export interface CheckPerfResult {
  load: CheckPerfLoad;
  /** The overall verdict: the final `PASS` line and exit status 0. */
  passed: boolean;
  /** Writes per second etcdctl measured (it rounds up), or null if the report has no throughput line. */
  throughputWritesPerSec: number | null;
  throughputPassed: boolean | null;
  /** Slowest request in seconds. */
  slowestSec: number | null;
  slowestPassed: boolean | null;
  /** Standard deviation of request latency in seconds. */
  stddevSec: number | null;
  stddevPassed: boolean | null;
  /** Request errors etcdctl counted, by error text. */
  errors: Array<{ error: string; count: number }>;
  /** Why there is no report (etcdctl's `Error: …` on stderr, a timeout), when there is none. */
  failure: string | null;
  exitCode: number | null;
  /** Wall time of the whole etcdctl run in seconds. */
  wallSec: number;
}

const THROUGHPUT = /(PASS|FAIL): Throughput (?:is|too low:) (\d+) writes\/s/;
const SLOWEST = /(PASS: )?Slowest request took (too long: )?(\d+(?:\.\d+)?)s/;
const STDDEV = /(PASS: )?Stddev (is|too high:) (\d+(?:\.\d+)?)s/;
const ERROR_COUNT = /FAIL: ERROR\((.*)\) -> (\d+)\s*$/;

/**
 * Parse what `etcdctl check perf` wrote. Pure: `stdout`/`stderr` as captured, `exitCode` as the process
 * ended (null when it was killed).
 */
export function parseCheckPerfOutput(
  load: CheckPerfLoad,
  stdout: string,
  stderr: string,
  exitCode: number | null,
  wallSec = 0,
): CheckPerfResult {
  const result: CheckPerfResult = {
    load,
    passed: false,
    throughputWritesPerSec: null,
    throughputPassed: null,
    slowestSec: null,
    slowestPassed: null,
    stddevSec: null,
    stddevPassed: null,
    errors: [],
    failure: null,
    exitCode,
    wallSec,
  };
  // The bar redraws with \r; the report lines end with \n. Either separates "lines" for our purpose.
  const lines = stdout.split(/\r\n|\r|\n/);
  let verdict: 'PASS' | 'FAIL' | null = null;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === 'PASS' || line === 'FAIL') {
      verdict = line;
      continue;
    }
    let m = THROUGHPUT.exec(line);
    if (m) {
      result.throughputPassed = m[1] === 'PASS';
      result.throughputWritesPerSec = Number(m[2]);
      continue;
    }
    m = SLOWEST.exec(line);
    if (m) {
      result.slowestPassed = m[1] !== undefined && m[2] === undefined;
      result.slowestSec = Number(m[3]);
      continue;
    }
    m = STDDEV.exec(line);
    if (m) {
      result.stddevPassed = m[1] !== undefined && m[2] === 'is';
      result.stddevSec = Number(m[3]);
      continue;
    }
    m = ERROR_COUNT.exec(line);
    if (m) result.errors.push({ error: m[1] as string, count: Number(m[2]) });
  }
  result.passed = verdict === 'PASS' && exitCode === 0;
  if (verdict === null) {
    const err = stderr.trim().split(/\r?\n/).filter(Boolean).pop();
    result.failure =
      err ??
      (exitCode === null
        ? 'etcdctl was killed before it printed a report'
        : `etcdctl exited ${exitCode} without a report`);
  }
  return result;
}

/** Options for `runCheckPerf`. */
export interface RunCheckPerfOptions {
  /** `host:port` of the etcd v3 gRPC endpoint. */
  endpoint: string;
  load?: CheckPerfLoad;
  /** The etcdctl binary (default `/usr/bin/etcdctl`, or `$ETCDCTL_BIN`). */
  bin?: string;
  /** Kill etcdctl after this long (default: 60 s run + 60 s setup + 30 s cleanup + margin). */
  timeoutMs?: number;
}

/** Run `ETCDCTL_API=3 etcdctl --endpoints=<endpoint> check perf --load=<load>` and parse its report. */
export async function runCheckPerf(opts: RunCheckPerfOptions): Promise<CheckPerfResult> {
  const load = opts.load ?? 's';
  const bin = opts.bin ?? process.env.ETCDCTL_BIN ?? '/usr/bin/etcdctl';
  const started = process.hrtime.bigint();
  const res = await run(bin, [`--endpoints=${opts.endpoint}`, 'check', 'perf', `--load=${load}`], {
    env: { ETCDCTL_API: '3' },
    timeoutMs: opts.timeoutMs ?? 180_000,
  });
  const wallSec = Number(process.hrtime.bigint() - started) / 1e9;
  const parsed = parseCheckPerfOutput(load, res.stdout, res.stderr, res.code, wallSec);
  if (res.timedOut)
    parsed.failure = `etcdctl check perf did not finish within ${(opts.timeoutMs ?? 180_000) / 1000} s`;
  return parsed;
}
