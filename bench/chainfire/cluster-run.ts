/**
 * `node --import tsx bench/chainfire/cluster-run.ts`: a 3-member ChainFire cluster vs a 3-member etcd
 * 3.4 cluster (Debian's /usr/bin/etcd, started with `--pre-vote`), all on free loopback ports with temp
 * data dirs, measured with the same clients, one system after the other:
 *
 * 1. `etcdctl check perf --load=<s|m>` against all three endpoints of each cluster: write throughput,
 *    slowest request, stddev;
 * 2. the load generator of this folder: puts at two concurrencies against the leader's endpoint, for
 *    throughput and p50/p99 latency (check perf reports no percentiles).
 *
 * Prints the table (ratio = ChainFire / etcd) and writes bench/results/chainfire-cluster-<stamp>.json.
 * Options: --quick (2 s scenarios, no check perf), --load s|m, --duration SEC, --no-check-perf.
 * The single-node comparison stays `npm run bench:chainfire` (run.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { freePort, run, tempDir, terminate, waitFor } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { Cluster } from '../../services/chainfire/test/cluster-harness.js';
import {
  checkPerfRows,
  formatTable,
  type MetricRow,
  type ScenarioResult,
  scenarioRows,
} from './bench-report.js';
import { REPO_ROOT } from './bench-target.js';
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
}

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, checkPerf: true, load: 's', durationSec: 10, clients: [16, 64] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') {
      o.quick = true;
      o.checkPerf = false;
      o.durationSec = 2;
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

async function startChainFireCluster(): Promise<ClusterTarget> {
  const c = await Cluster.start({ size: 3 });
  return {
    name: 'chainfire',
    endpoints: c.members.map((m) => m.grpcAddress),
    leader: async () => c.members[await c.waitLeader()]!.grpcAddress,
    pids: () => c.members.flatMap((m) => (m.proc ? [m.proc.pid] : [])),
    stop: () => c.close(),
  };
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
  const puts: Record<string, Partial<Record<'chainfire' | 'etcd', ScenarioResult>>> = {};
  // One cluster at a time: both would compete for the same two cores otherwise.
  for (const name of ['chainfire', 'etcd'] as const) {
    log(`starting a 3-member ${name} cluster`);
    const t = name === 'etcd' ? await startEtcdCluster() : await startChainFireCluster();
    try {
      log(`${name}: ${t.endpoints.join(', ')}; leader ${await t.leader()}`);
      if (o.checkPerf) {
        log(`etcdctl check perf --load=${o.load} against all endpoints (about 60 s)`);
        const r = await runCheckPerf({ endpoint: t.endpoints.join(','), load: o.load });
        checkPerf[name] = r;
        log(
          `  ${r.passed ? 'PASS' : 'FAIL'}: ${r.throughputWritesPerSec ?? '?'} writes/s, slowest ${r.slowestSec ?? '?'} s`,
        );
      }
      for (const c of o.clients) {
        log(`put c=${c} against the leader (${o.durationSec} s)`);
        const r = await measurePut(t, c, o);
        (puts[`put c=${c}`] ??= {})[name] = r;
        log(
          `  ${r.opsPerSec.toFixed(0)} writes/s, p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms`,
        );
      }
    } finally {
      await t.stop();
    }
  }
  const rows: MetricRow[] = [];
  if (o.checkPerf) rows.push(...checkPerfRows(checkPerf.chainfire ?? null, checkPerf.etcd ?? null));
  for (const [scenario, p] of Object.entries(puts))
    rows.push(
      ...scenarioRows({
        name: `3 members, ${scenario}`,
        chainfire: p.chainfire ?? null,
        etcd: p.etcd ?? null,
      }),
    );
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    kernel: release(),
    node: process.version,
  };
  process.stdout.write(
    `\n3-member ChainFire vs 3-member etcd 3.4 (--pre-vote) — ${machine.cpus} CPU, node ${machine.node}, ` +
      `${o.durationSec} s per put scenario\nratio = ChainFire / etcd\n\n${formatTable(rows)}\n`,
  );
  const outDir = join(REPO_ROOT, 'bench', 'results');
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `chainfire-cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ bench: 'chainfire-cluster', machine, options: o, checkPerf, puts, rows }, null, 2)}\n`,
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
