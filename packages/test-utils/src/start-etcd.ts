/** Start Debian's real etcd 3.4 server on free loopback ports, for tests that need the anchor. */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { trackChild } from './child-registry.js';
import { freePort } from './free-port.js';
import { tempDir } from './temp-dir.js';
import { terminate } from './terminate.js';
import { waitFor } from './wait-for.js';

/** Options for `startEtcd`. */
export interface StartEtcdOptions {
  /**
   * Data directory. When given, the caller owns it (it is kept on `stop()`, so a second `startEtcd`
   * on the same directory restarts the same member). When absent a temp dir is made and removed.
   */
  dataDir?: string;
  /** The etcd binary (default `/usr/bin/etcd`, or `$ETCD_BIN`). */
  bin?: string;
  /** Extra command-line flags, e.g. `['--auto-compaction-retention=1']`. */
  extraArgs?: string[];
  /** Client port to use instead of a free one (e.g. to restart a member where clients expect it). */
  clientPort?: number;
  /** Peer port to use instead of a free one. */
  peerPort?: number;
  /** How long to wait for the server to answer its health check (default 20 s). */
  startTimeoutMs?: number;
}

/** A running etcd server. */
export interface EtcdProcess {
  /** `127.0.0.1:<port>`, as gRPC clients and `etcdctl --endpoints` take it. */
  endpoint: string;
  /** `http://127.0.0.1:<port>`. */
  clientUrl: string;
  /** `http://127.0.0.1:<port>` of the peer listener. */
  peerUrl: string;
  pid: number;
  dataDir: string;
  /** The last lines etcd wrote to stderr (its log), for diagnosing failures. */
  log(): string;
  /** SIGTERM this PID (SIGKILL after 5 s), wait for exit, remove the temp data dir if we made it. Idempotent. */
  stop(): Promise<void>;
}

const LOG_TAIL = 64 * 1024;

/** Spawn `/usr/bin/etcd` on free ports with its own data dir and wait until it serves. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdProcess> {
  // Ports come from the OS but may be taken again before etcd binds them; retry a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastError = err;
      if (!(err instanceof PortInUseError)) throw err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

class PortInUseError extends Error {}

async function startOnce(opts: StartEtcdOptions): Promise<EtcdProcess> {
  const bin = opts.bin ?? process.env.ETCD_BIN ?? '/usr/bin/etcd';
  const owned = opts.dataDir === undefined ? await tempDir('photoncloud-etcd-') : undefined;
  const dataDir = opts.dataDir ?? owned!.path;
  await mkdir(dataDir, { recursive: true });
  const clientPort = opts.clientPort ?? (await freePort());
  let peerPort = opts.peerPort ?? (await freePort());
  while (peerPort === clientPort) peerPort = await freePort();
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name=default',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`,
    '--initial-cluster-state=new',
    '--logger=zap',
    '--log-outputs=stderr',
    '--log-level=warn',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  trackChild(child, owned?.path);
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    log = (log + d).slice(-LOG_TAIL);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('close', () => {
      exited = true;
      resolve();
    });
  });
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (e) => resolve(e));
  });
  if (spawnError) {
    await owned?.cleanup();
    throw new Error(`startEtcd: cannot run ${bin}: ${spawnError.message}`);
  }
  const pid = child.pid!;

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exited) await terminate(pid, exit);
    await owned?.cleanup();
  };

  try {
    await waitFor(
      async () => {
        if (exited) throw new Error('etcd exited');
        const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
        const body = (await res.json()) as { health?: string };
        return body.health === 'true';
      },
      { timeoutMs: opts.startTimeoutMs ?? 20_000, intervalMs: 50, what: 'etcd health' },
    );
  } catch (err) {
    await stop();
    if (/address already in use/.test(log)) throw new PortInUseError(`startEtcd: port in use`);
    throw new Error(
      `startEtcd: etcd did not become healthy (${(err as Error).message}); log tail:\n${log.slice(-4000)}`,
    );
  }
  return {
    endpoint: `127.0.0.1:${clientPort}`,
    clientUrl,
    peerUrl,
    pid,
    dataDir,
    log: () => log,
    stop,
  };
}
