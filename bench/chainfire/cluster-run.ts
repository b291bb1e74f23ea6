/**
 * `node --import tsx bench/chainfire/cluster-run.ts`: a 3-member ChainFire cluster vs a 3-member etcd
 * 3.4 cluster (Debian's /usr/bin/etcd, started with `--pre-vote`), all on free loopback ports with temp
 * data dirs, measured with the same clients, taking turns:
 *
 * 1. `etcdctl check perf --load=<s|m>` against all three endpoints of each cluster: write throughput,
 *    slowest request, stddev;
 * 2. the load generator of this folder: puts at two concurrencies against the leader's endpoint, for
 *    throughput and p50/p99 latency (check perf reports no percentiles).
 *
 * Prints the table (ratio = ChainFire / etcd) and writes bench/results/chainfire-cluster-<stamp>.json.
 * Both clusters run side by side and take turns; `--rounds` (default 3) rounds alternate the order,
 * and the best round per system and scenario counts (as in run.ts).
 * Options: --quick (2 s scenarios, one round, no check perf), --load s|m, --duration SEC, --rounds N,
 * --no-check-perf, --profile (V8 CPU profiles of the ChainFire members, kept under bench/results/,
 * summarized over the measured phases, the leader's first).
 * The single-node comparison stays `npm run bench:chainfire` (run.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { freePort, run, tempDir, terminate, waitFor } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { Cluster } from '../../services/chainfire/test/cluster-harness.js';
import {
  bestRound,
  checkPerfRows,
  formatTable,
  interferenceWarnings,
  type MetricRow,
  type ScenarioPair,
  type ScenarioResult,
  scenarioRows,
} from './bench-report.js';
import { REPO_ROOT } from './bench-target.js';
import { formatProfileSummary, summarizeCpuProfile, type TimeWindow } from './cpu-profile-summary.js';
import { runCheckPerf, type CheckPerfLoad, type CheckPerfResult } from './check-perf.js';
import { runLoad } from './load-generator.js';
import { machineBusySeconds, treeCpuSeconds } from './proc-stats.js';

const log = (msg: string): void => {
  process.stderr.write(`[bench:chainfire-cluster] ${msg}\n`);
};

/** A cluster under test, as the bench sees it. */
interface ClusterTarget {
  name: 'chainfire' | 'etcd';
  /** Every member's gRPC endpoint. */
  endpoints: string[];
  /** The endpoint of the current leader. */
  leader(): Promise<string>;
  pids(): number[];
  stop(): Promise<void>;
}

interface Options {
  quick: boolean;
  checkPerf: boolean;
  load: CheckPerfLoad;
  durationSec: number;
  clients: number[];
  rounds: number;
  /** Directory for V8 CPU profiles of the ChainFire members (`--profile`), else undefined. */
  profileDir?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    checkPerf: true,
    load: 's',
    durationSec: 10,
    clients: [16, 64],
    rounds: 3,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') {
      o.quick = true;
      o.checkPerf = false;
      o.durationSec = 2;
      o.rounds = 1;
    } else if (a === '--no-check-perf') o.checkPerf = false;
    else if (a === '--check-perf') o.checkPerf = true;
    else if (a === '--load') {
      const v = argv[++i];
      if (v !== 's' && v !== 'm') throw new Error('--load takes s or m');
      o.load = v;
    } else if (a === '--duration') {
      const v = Number(argv[++i]);
      if (!(v > 0 && v <= 600)) throw new Error('--duration takes seconds in (0, 600]');
      o.durationSec = v;
    } else if (a === '--profile')
      o.profileDir = join(REPO_ROOT, 'bench', 'results', `cpu-prof-${Date.now()}`);
    else if (a === '--rounds') {
      const v = Number(argv[++i]);
      if (!(Number.isInteger(v) && v >= 1 && v <= 20))
        throw new Error('--rounds takes an integer in [1, 20]');
      o.rounds = v;
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** Three etcd members with `--pre-vote`, spawned together (none is healthy before a quorum runs). */
async function startEtcdCluster(): Promise<ClusterTarget> {
  const dirs: TempDir[] = [];
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  while (ports.length < 6) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const peer = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]!}`;
  const client = (i: number): string => `http://127.0.0.1:${ports[2 * i]!}`;
  const initial = [0, 1, 2].map((i) => `e${i}=${peer(i)}`).join(',');
  const logs = ['', '', ''];
  for (const i of [0, 1, 2]) {
    const dir = await tempDir(`bench-etcd-${i}-`);
    dirs.push(dir);
    const child = spawn(
      '/usr/bin/etcd',
      [
        `--name=e${i}`,
        `--data-dir=${dir.path}`,
        `--listen-client-urls=${client(i)}`,
        `--advertise-client-urls=${client(i)}`,
        `--listen-peer-urls=${peer(i)}`,
        `--initial-advertise-peer-urls=${peer(i)}`,
        `--initial-cluster=${initial}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=bench',
        '--pre-vote',
        '--logger=zap',
        '--log-outputs=stderr',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (logs[i] = (logs[i]! + d).slice(-8000)));
    children.push(child);
  }
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map((c) =>
        c.pid !== undefined && c.exitCode === null
          ? terminate(c.pid, new Promise<void>((r) => c.once('exit', () => r())))
          : undefined,
      ),
    );
    for (const d of dirs) await d.cleanup();
  };
  const endpoints = [0, 1, 2].map((i) => client(i).replace('http://', ''));
  try {
    await waitFor(
      async () => {
        for (const i of [0, 1, 2]) {
          const r = await fetch(`${client(i)}/health`, { signal: AbortSignal.timeout(1000) }).catch(
            () => null,
          );
          if (!r || ((await r.json()) as { health?: string }).health !== 'true') return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'etcd cluster health' },
    );
  } catch (e) {
    await stop();
    throw new Error(`etcd cluster did not start: ${(e as Error).message}\n${logs.join('\n')}`);
  }
  return {
    name: 'etcd',
    endpoints,
    leader: async () => {
      const r = await run(
        'etcdctl',
        [`--endpoints=${endpoints.join(',')}`, 'endpoint', 'status', '-w', 'json'],
        {
          env: { ETCDCTL_API: '3' },
          timeoutMs: 10_000,
        },
      );
      const st = JSON.parse(r.stdout) as Array<{
        Endpoint: string;
        Status: { header: { member_id: number }; leader: number };
      }>;
      const lead = st.find((s) => s.Status.header.member_id === s.Status.leader);
      return lead?.Endpoint ?? endpoints[0]!;
    },
    pids: () => children.flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
    stop,
  };
}

async function startChainFireCluster(o: Options): Promise<ClusterTarget> {
  const c = await Cluster.start({
    size: 3,
    ...(o.profileDir === undefined ? {} : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] }),
  });
  return {
    name: 'chainfire',
    endpoints: c.members.map((m) => m.grpcAddress),
    leader: async () => c.members[await c.waitLeader()]!.grpcAddress,
    pids: () => c.members.flatMap((m) => (m.proc ? [m.proc.pid] : [])),
    stop: async () => {
      // A profile is written on a normal exit only: SIGTERM first, then close() kills what is left.
      if (o.profileDir !== undefined)
        await Promise.all(c.members.map((m) => m.proc?.stop('SIGTERM', 15_000).catch(() => undefined)));
      await c.close();
    },
  };
}

/** Summaries of the member profiles over the measured ChainFire phases, busiest (the leader) first. */
async function profileSummaries(dir: string, windows: TimeWindow[]): Promise<string[]> {
  const out: Array<{ busy: number; text: string }> = [];
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.cpuprofile'))) {
    const parsed = JSON.parse(await readFile(join(dir, f), 'utf8')) as Parameters<
      typeof summarizeCpuProfile
    >[0];
    const s = summarizeCpuProfile(parsed, { windows });
    out.push({ busy: s.busyMs, text: formatProfileSummary(s, `ChainFire member profile ${join(dir, f)}`) });
  }
  return out.sort((a, b) => b.busy - a.busy).map((x) => x.text);
}

async function measurePut(t: ClusterTarget, clients: number, o: Options): Promise<ScenarioResult> {
  const endpoint = await t.leader();
  const cpu = (): number => t.pids().reduce((n, pid) => n + treeCpuSeconds(pid), 0);
  const r = await runLoad({
    endpoint,
    op: 'put',
    clients,
    durationMs: o.durationSec * 1000,
    warmupMs: o.quick ? 300 : 1000,
    probe: () => ({ server: cpu(), machine: machineBusySeconds() }),
  });
  const server = r.probeDelta?.server ?? null;
  const machine = r.probeDelta?.machine ?? null;
  const other = server !== null && machine !== null ? Math.max(0, machine - server - r.clientCpuSec) : null;
  return {
    ...r,
    serverCpuSec: server,
    otherCpuSec: other,
    otherCpuShare: other !== null && r.elapsedSec > 0 ? other / (r.elapsedSec * cpus().length) : null,
  };
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const load = loadavg()[0] ?? 0;
  if (load > 0.5 * cpus().length)
    log(`warning: load average is ${load.toFixed(1)} on ${cpus().length} CPUs; figures will be noisy`);
  const checkPerf: Partial<Record<'chainfire' | 'etcd', CheckPerfResult>> = {};
  const names = ['chainfire', 'etcd'] as const;
  const pairs: ScenarioPair[] = [];
  // Both clusters stay up and take turns (an idle cluster costs a few heartbeats); rounds alternate
  // the order and go over every scenario, so that a burst of outside load or a slow patch of the
  // disk hits one round of one system, not a whole side. The best round counts, as in run.ts.
  const targets: Partial<Record<'chainfire' | 'etcd', ClusterTarget>> = {};
  try {
    for (const name of names) {
      log(`starting a 3-member ${name} cluster`);
      const t = name === 'etcd' ? await startEtcdCluster() : await startChainFireCluster(o);
      targets[name] = t;
      log(`${name}: ${t.endpoints.join(', ')}; leader ${await t.leader()}`);
    }
    if (o.checkPerf) {
      for (const name of names) {
        log(`${name}: etcdctl check perf --load=${o.load} against all endpoints (about 60 s)`);
        const r = await runCheckPerf({ endpoint: targets[name]!.endpoints.join(','), load: o.load });
        checkPerf[name] = r;
        log(
          `  ${r.passed ? 'PASS' : 'FAIL'}: ${r.throughputWritesPerSec ?? '?'} writes/s, slowest ${r.slowestSec ?? '?'} s`,
        );
      }
    }
    const runs = o.clients.map(() => ({ chainfire: [] as ScenarioResult[], etcd: [] as ScenarioResult[] }));
    for (let round = 0; round < o.rounds; round++) {
      for (const [i, c] of o.clients.entries()) {
        for (const name of (i + round) % 2 === 0 ? names : [...names].reverse()) {
          log(
            `put c=${c} on ${name}, against the leader (${o.durationSec} s, round ${round + 1}/${o.rounds})`,
          );
          const r = await measurePut(targets[name]!, c, o);
          runs[i]![name].push(r);
          log(
            `  ${r.opsPerSec.toFixed(0)} writes/s, p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms, server CPU ${r.serverCpuSec?.toFixed(2) ?? '?'} s`,
          );
        }
      }
    }
    for (const [i, c] of o.clients.entries()) {
      const r = runs[i]!;
      pairs.push({
        name: `put c=${c}`,
        chainfire: bestRound(r.chainfire),
        etcd: bestRound(r.etcd),
        rounds: r,
      });
    }
  } finally {
    for (const t of Object.values(targets)) await t.stop();
  }
  const profiles =
    o.profileDir === undefined
      ? []
      : await profileSummaries(
          o.profileDir,
          pairs.flatMap((p) => (p.rounds?.chainfire ?? []).map((r) => r.windowUs)),
        );
  const rows: MetricRow[] = [];
  if (o.checkPerf) rows.push(...checkPerfRows(checkPerf.chainfire ?? null, checkPerf.etcd ?? null));
  for (const p of pairs) rows.push(...scenarioRows({ ...p, name: `3 members, ${p.name}` }));
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    kernel: release(),
    node: process.version,
  };
  process.stdout.write(
    `\n3-member ChainFire vs 3-member etcd 3.4 (--pre-vote) — ${machine.cpus} CPU, node ${machine.node}, ` +
      `${o.durationSec} s per put scenario, best of ${o.rounds} round(s)\nratio = ChainFire / etcd\n\n${formatTable(rows)}\n`,
  );
  const warnings = interferenceWarnings(pairs);
  if (warnings.length > 0)
    process.stdout.write(
      `\nwarning: the machine was not idle; these figures are disturbed (rerun when it is quiet):\n${warnings.map((w) => `  ${w}\n`).join('')}`,
    );
  for (const p of profiles) process.stdout.write(`\n${p}\n`);
  const outDir = join(REPO_ROOT, 'bench', 'results');
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `chainfire-cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ bench: 'chainfire-cluster', machine, options: o, checkPerf, puts: pairs, rows }, null, 2)}\n`,
  );
  process.stdout.write(`\nresults: ${file}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench:chainfire-cluster failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
