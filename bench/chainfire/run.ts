/**
 * `npm run bench:chainfire`: ChainFire vs etcd 3.4, single node each, started by this run on free
 * loopback ports with temp data dirs, measured with the same client. Prints a table (absolute figures
 * and ChainFire/etcd ratios) and writes bench/results/chainfire-<timestamp>.json.
 *
 * Phases: (1) `etcdctl check perf` against each, one after the other; (2) our load generator — put,
 * get and range scenarios at several concurrencies, each run on both servers back to back (alternating
 * which goes first, so slow drift of the machine does not favour one side).
 */
import { mkdir, readdir, readFile, writeFile, rm, mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, totalmem, tmpdir, release } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_USAGE, BenchUsageError, parseBenchArgs, type BenchOptions } from './bench-options.js';
import {
  bestRound,
  checkPerfRows,
  interferenceWarnings,
  formatTable,
  ratio,
  scenarioRows,
  type MetricRow,
  type ScenarioPair,
  type ScenarioResult,
} from './bench-report.js';
import {
  REPO_ROOT,
  startChainFireTarget,
  startEtcdTarget,
  type BenchTarget,
  type TargetName,
} from './bench-target.js';
import { runCheckPerf, type CheckPerfResult } from './check-perf.js';
import {
  formatProfileSummary,
  summarizeCpuProfile,
  type ProfileSummary,
  type TimeWindow,
} from './cpu-profile-summary.js';
import { preloadKeys, runLoad, type LoadOp } from './load-generator.js';
import { machineBusySeconds } from './proc-stats.js';

const log = (msg: string): void => {
  process.stderr.write(`[bench:chainfire] ${msg}\n`);
};

/** One load-generator scenario to run on both targets. */
interface Scenario {
  name: string;
  op: LoadOp;
  clients: number;
}

function scenarios(opts: BenchOptions): Scenario[] {
  const list: Scenario[] = [];
  for (const c of opts.clients) list.push({ name: `put c=${c}`, op: 'put', clients: c });
  for (const c of opts.clients) list.push({ name: `get c=${c}`, op: 'get', clients: c });
  // One range scan scenario at a middle concurrency: 100 keys per request.
  const mid = opts.clients[Math.floor(opts.clients.length / 2)] ?? 16;
  list.push({ name: `range100 c=${mid}`, op: 'range', clients: mid });
  return list;
}

async function measure(target: BenchTarget, s: Scenario, opts: BenchOptions): Promise<ScenarioResult> {
  const r = await runLoad({
    endpoint: target.endpoint,
    op: s.op,
    clients: s.clients,
    durationMs: opts.durationSec * 1000,
    warmupMs: opts.warmupSec * 1000,
    valueSize: opts.valueSize,
    probe: () => ({ server: target.cpuSeconds(), machine: machineBusySeconds() }),
  });
  const server = r.probeDelta?.server ?? null;
  const machine = r.probeDelta?.machine ?? null;
  // Whatever the machine did beyond the server and this process is interference from elsewhere.
  const other = server !== null && machine !== null ? Math.max(0, machine - server - r.clientCpuSec) : null;
  return {
    ...r,
    serverCpuSec: server,
    otherCpuSec: other,
    otherCpuShare: other !== null && r.elapsedSec > 0 ? other / (r.elapsedSec * cpus().length) : null,
  };
}

function describe(r: ScenarioResult): string {
  const errs = Object.entries(r.errors)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return (
    `${r.opsPerSec.toFixed(0)} ops/s, p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms, ` +
    `max ${r.latency.max.toFixed(1)} ms, server CPU ${r.serverCpuSec?.toFixed(2) ?? '?'} s, client CPU ${r.clientCpuSec.toFixed(2)} s, ` +
    `others ${r.otherCpuSec?.toFixed(2) ?? '?'} s` +
    (errs ? `, errors: ${errs}` : '')
  );
}

async function main(): Promise<number> {
  let opts: BenchOptions | null;
  try {
    opts = parseBenchArgs(process.argv.slice(2), join(REPO_ROOT, 'bench', 'results'));
  } catch (err) {
    if (err instanceof BenchUsageError) {
      process.stderr.write(`bench:chainfire: ${err.message}\n\n${BENCH_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (opts === null) {
    process.stdout.write(`${BENCH_USAGE}\n`);
    return 0;
  }
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const profileDir = opts.profile ? await mkdtemp(join(tmpdir(), 'photoncloud-bench-prof-')) : undefined;

  const targets: Partial<Record<TargetName, BenchTarget>> = {};
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopping ??= Promise.all(Object.values(targets).map((t) => t.stop().catch(() => undefined))).then(
      () => undefined,
    ));
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: stopping servers`);
    void stopAll()
      .then(() => (profileDir ? rm(profileDir, { recursive: true, force: true }) : undefined))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const checkPerf: Partial<Record<TargetName, CheckPerfResult>> = {};
  const pairs: ScenarioPair[] = [];
  const footprint: Partial<Record<TargetName, { rssBytes: number; diskBytes: number }>> = {};
  const profiles: Partial<Record<'all' | LoadOp, ProfileSummary>> = {};
  let profileFile: string | null = null;
  try {
    const order: TargetName[] = opts.targets;
    const load = loadavg()[0] ?? 0;
    if (load > 0.5 * cpus().length)
      log(`warning: load average is ${load.toFixed(1)} on ${cpus().length} CPUs; figures will be noisy`);
    log(`starting ${order.join(' and ')} on free loopback ports`);
    if (order.includes('etcd')) targets.etcd = await startEtcdTarget();
    if (order.includes('chainfire'))
      targets.chainfire = await startChainFireTarget({ cpuProfileDir: profileDir });
    for (const name of order)
      log(`${name}: ${targets[name]!.version} at ${targets[name]!.endpoint} (pid ${targets[name]!.pid})`);

    if (opts.checkPerf) {
      for (const name of order) {
        log(`etcdctl check perf --load=${opts.checkPerfLoad} against ${name} (about 60 s)`);
        const r = await runCheckPerf({ endpoint: targets[name]!.endpoint, load: opts.checkPerfLoad });
        checkPerf[name] = r;
        log(
          `  ${r.passed ? 'PASS' : 'FAIL'}: ${r.throughputWritesPerSec ?? '?'} writes/s, slowest ${r.slowestSec ?? '?'} s, ` +
            `stddev ${r.stddevSec ?? '?'} s${r.failure ? `, ${r.failure}` : ''}${r.errors.length ? `, errors ${JSON.stringify(r.errors)}` : ''}`,
        );
      }
    }

    for (const name of order) await preloadKeys(targets[name]!.endpoint, { valueSize: opts.valueSize });
    const list = scenarios(opts);
    const runs = list.map(() => ({ chainfire: [] as ScenarioResult[], etcd: [] as ScenarioResult[] }));
    // Rounds go over the whole list, so a burst of outside load hits one round of a scenario, not all.
    for (let round = 0; round < opts.rounds; round++) {
      for (const [i, s] of list.entries()) {
        for (const name of (i + round) % 2 === 0 ? order : [...order].reverse()) {
          log(
            `${s.name} on ${name} (${opts.durationSec} s${opts.rounds > 1 ? `, round ${round + 1}/${opts.rounds}` : ''})`,
          );
          try {
            const r = await measure(targets[name]!, s, opts);
            runs[i]![name].push(r);
            log(`  ${describe(r)}`);
          } catch (err) {
            log(`  failed: ${(err as Error).message}`);
          }
        }
      }
    }
    for (const [i, s] of list.entries()) {
      const r = runs[i]!;
      pairs.push({ name: s.name, chainfire: bestRound(r.chainfire), etcd: bestRound(r.etcd), rounds: r });
    }
    for (const name of order) {
      footprint[name] = { rssBytes: targets[name]!.rssBytes(), diskBytes: targets[name]!.diskBytes() };
    }
  } catch (err) {
    log(`aborted: ${(err as Error).message}`);
    for (const t of Object.values(targets)) log(`${t.name} log tail:\n${t.logTail()}`);
    await stopAll();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
    return 1;
  } finally {
    await stopAll();
  }

  if (profileDir) {
    // --cpu-prof writes one file per node thread on exit; the server's main thread is the busiest one.
    const files = (await readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile'));
    // Only the measured phases on ChainFire count: not start-up, check perf, preloading or etcd's turns.
    const windowsOf = (op?: LoadOp): TimeWindow[] =>
      pairs.flatMap((p) =>
        (p.rounds?.chainfire ?? []).filter((r) => op === undefined || r.op === op).map((r) => r.windowUs),
      );
    let best: {
      file: string;
      parsed: Parameters<typeof summarizeCpuProfile>[0];
      summary: ProfileSummary;
    } | null = null;
    for (const f of files) {
      const parsed = JSON.parse(await readFile(join(profileDir, f), 'utf8')) as Parameters<
        typeof summarizeCpuProfile
      >[0];
      const summary = summarizeCpuProfile(parsed, { windows: windowsOf() });
      if (!best || summary.busyMs > best.summary.busyMs) best = { file: f, parsed, summary };
    }
    if (best) {
      profiles.all = best.summary;
      for (const op of ['put', 'get', 'range'] as const) {
        const windows = windowsOf(op);
        if (windows.length > 0) profiles[op] = summarizeCpuProfile(best.parsed, { windows });
      }
      profileFile = join(outDir, `chainfire-${stamp}.cpuprofile`);
      await writeFile(profileFile, await readFile(join(profileDir, best.file)));
    } else {
      log('no CPU profile was written (ChainFire must exit normally on SIGTERM for --cpu-prof to write one)');
    }
    await rm(profileDir, { recursive: true, force: true });
  }

  const rows: MetricRow[] = [];
  if (opts.checkPerf) rows.push(...checkPerfRows(checkPerf.chainfire ?? null, checkPerf.etcd ?? null));
  for (const p of pairs) rows.push(...scenarioRows(p));
  const mib = (b: number | undefined): number | null => (b === undefined ? null : b / (1024 * 1024));
  for (const [metric, key] of [
    ['server RSS after run MiB', 'rssBytes'],
    ['data dir on disk MiB', 'diskBytes'],
  ] as const) {
    const cf = mib(footprint.chainfire?.[key]);
    const et = mib(footprint.etcd?.[key]);
    rows.push({ metric, better: 'lower', chainfire: cf, etcd: et, ratio: ratio(cf, et) });
  }

  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    kernel: release(),
    node: process.version,
  };
  const header =
    `ChainFire vs etcd 3.4 — ${machine.cpus} CPU (${machine.cpuModel}), node ${machine.node}, ` +
    `${opts.quick ? 'quick' : 'full'} run, ${opts.durationSec} s per scenario, best of ${opts.rounds} round(s), ` +
    `${opts.valueSize}-byte values`;
  process.stdout.write(
    `\n${header}\nratio = ChainFire / etcd; "better" says which direction wins for that metric\n\n`,
  );
  process.stdout.write(`${formatTable(rows)}\n`);
  const warnings = interferenceWarnings(pairs);
  if (warnings.length > 0) {
    process.stdout.write(
      `\nwarning: the machine was not idle; these figures are disturbed (rerun when it is quiet):\n${warnings.map((w) => `  ${w}\n`).join('')}`,
    );
  }
  for (const [what, summary] of Object.entries(profiles)) {
    const title = `ChainFire CPU profile, ${what === 'all' ? 'all' : what} scenarios (measured phases only)`;
    process.stdout.write(`\n${formatProfileSummary(summary, title)}\n`);
  }
  if (profileFile) process.stdout.write(`\nprofile (open in Chrome DevTools): ${profileFile}\n`);

  const resultFile = join(outDir, `chainfire-${stamp}.json`);
  const result = {
    bench: 'chainfire',
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    options: opts,
    versions: { chainfire: targets.chainfire?.version ?? null, etcd: targets.etcd?.version ?? null },
    checkPerf,
    scenarios: pairs,
    footprint,
    rows,
    profile: profileFile ? { file: profileFile, ...profiles } : null,
  };
  await writeFile(resultFile, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\nresults: ${resultFile}\n`);
  const failed = pairs.some((p) => opts.targets.some((t) => p[t] === null));
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench:chainfire failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
