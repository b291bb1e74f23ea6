/**
 * The two servers under test, started the way operators run them, on free loopback ports with temp
 * data dirs: ChainFire through `bin/photoncloud serve chainfire`, etcd 3.4 through Debian's /usr/bin/etcd
 * with default settings. Both expose the same handle so the bench treats them alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, run, startEtcd, tempDir, terminate, waitFor } from '@photoncloud/test-utils';
import { openKvClients } from './load-generator.js';
import { treeCpuSeconds, treeRssBytes } from './proc-stats.js';

/** Names of the systems the bench compares. */
export type TargetName = 'chainfire' | 'etcd';

/** A running server under test. */
export interface BenchTarget {
  name: TargetName;
  /** `127.0.0.1:<port>` of its etcd v3 gRPC API. */
  endpoint: string;
  pid: number;
  dataDir: string;
  /** What is running, e.g. `etcd 3.4.23` or `chainfire (git 1a2b3c4)`. */
  version: string;
  /** CPU seconds its process tree has used so far. */
  cpuSeconds(): number;
  /** Resident memory of its process tree in bytes. */
  rssBytes(): number;
  /** Disk space its data dir occupies (allocated blocks, like `du`). */
  diskBytes(): number;
  /** The end of its log, for diagnosing failures. */
  logTail(): string;
  /** Stop the server (SIGTERM, SIGKILL after a grace period) and remove its temp dirs. Idempotent. */
  stop(): Promise<void>;
}

/** The monorepo root (this file is bench/chainfire/bench-target.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Allocated bytes of every file under `dir` (bounded by the tree's size; symlinks not followed). */
export function dirBytes(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else {
        try {
          total += lstatSync(p).blocks * 512;
        } catch {
          // Removed meanwhile (e.g. a WAL segment being recycled).
        }
      }
    }
  }
  return total;
}

/** Start etcd 3.4 with default settings on free loopback ports and a temp data dir. */
export async function startEtcdTarget(): Promise<BenchTarget> {
  const etcd = await startEtcd();
  const ver = await run('/usr/bin/etcd', ['--version'], { timeoutMs: 10_000 });
  const m = /etcd Version: (\S+)/.exec(ver.stdout);
  return {
    name: 'etcd',
    endpoint: etcd.endpoint,
    pid: etcd.pid,
    dataDir: etcd.dataDir,
    version: `etcd ${m?.[1] ?? 'unknown'}`,
    cpuSeconds: () => treeCpuSeconds(etcd.pid),
    rssBytes: () => treeRssBytes(etcd.pid),
    diskBytes: () => dirBytes(etcd.dataDir),
    logTail: () => etcd.log().slice(-4000),
    stop: () => etcd.stop(),
  };
}

/** Children this module started, killed by PID if the bench process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHooked = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const c of live) {
      if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });
}

/** Options for `startChainFireTarget`. */
export interface StartChainFireOptions {
  /** Run the server under `node --cpu-prof`, writing .cpuprofile files here when it exits. */
  cpuProfileDir?: string;
  /** How long to wait for it to serve (default 60 s: the first start compiles TypeScript with tsx). */
  startTimeoutMs?: number;
}

class PortInUseError extends Error {}

/** Start ChainFire as operators do: `node bin/photoncloud serve chainfire …` on free loopback ports. */
export async function startChainFireTarget(opts: StartChainFireOptions = {}): Promise<BenchTarget> {
  let last: unknown;
  // Free ports may be taken by someone else before the server binds them: retry a few times.
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await startChainFireOnce(opts);
    } catch (err) {
      last = err;
      if (!(err instanceof PortInUseError)) throw err;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

async function startChainFireOnce(opts: StartChainFireOptions): Promise<BenchTarget> {
  const bin = join(REPO_ROOT, 'bin', 'photoncloud');
  if (!existsSync(bin)) throw new Error(`ChainFire cannot start: ${bin} does not exist yet`);
  const tmp = await tempDir('photoncloud-bench-chainfire-');
  const dataDir = join(tmp.path, 'data');
  const logPath = join(tmp.path, 'chainfire.log');
  const httpPort = await freePort();
  let grpcPort = await freePort();
  while (grpcPort === httpPort) grpcPort = await freePort();
  const args = [
    bin,
    'serve',
    'chainfire',
    '--data-dir',
    dataDir,
    '--host',
    '127.0.0.1',
    '--http-port',
    String(httpPort),
    '--grpc-port',
    String(grpcPort),
  ];
  // Node refuses --cpu-prof in NODE_OPTIONS, so it goes on the command line; `serve` runs the service
  // in this same process, so that is where the profile is taken.
  const nodeFlags = opts.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`] : [];
  // The log goes to a file, not a pipe: a chatty server must neither block on nor bloat the bench.
  const logFd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...nodeFlags, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  track(child);
  const logTail = (): string => {
    try {
      return readFileSync(logPath, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (e) => resolve(e));
  });
  if (spawnError || child.pid === undefined) {
    await tmp.cleanup();
    throw new Error(`ChainFire cannot start: ${spawnError?.message ?? 'no pid'}`);
  }
  const pid = child.pid;

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // A graceful exit is needed for --cpu-prof to write its profile; give it time before SIGKILL.
    if (!exited) await terminate(pid, exit, { graceMs: 15_000 });
    await tmp.cleanup();
  };

  const endpoint = `127.0.0.1:${grpcPort}`;
  try {
    // Give up at once if the server exits (a bad flag, a port in use) instead of polling a dead PID.
    await Promise.race([
      waitFor(
        async () => {
          if (exited) return true;
          const res = await fetch(`http://127.0.0.1:${httpPort}/health`, {
            signal: AbortSignal.timeout(1_000),
          });
          if (!res.ok) return false;
          // Health alone is not enough: the bench needs the gRPC listener.
          const [kv] = await openKvClients(endpoint, 1, 1_000);
          kv!.close();
          return true;
        },
        { timeoutMs: opts.startTimeoutMs ?? 60_000, intervalMs: 100, what: 'ChainFire health and gRPC' },
      ),
      exit,
    ]);
    if (exited) throw new Error('ChainFire exited during start');
  } catch (err) {
    const log = logTail();
    await stop();
    if (/EADDRINUSE|address already in use/i.test(log)) throw new PortInUseError('ChainFire: port in use');
    throw new Error(`ChainFire did not start (${(err as Error).message}); log tail:\n${log}`);
  }

  const git = await run('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'], {
    timeoutMs: 10_000,
  }).catch(() => null);
  const commit = git?.code === 0 ? git.stdout.trim() : 'unknown';
  return {
    name: 'chainfire',
    endpoint,
    pid,
    dataDir,
    version: `chainfire (git ${commit}, node ${process.version})`,
    cpuSeconds: () => treeCpuSeconds(pid),
    rssBytes: () => treeRssBytes(pid),
    diskBytes: () => dirBytes(dataDir),
    logTail,
    stop,
  };
}
