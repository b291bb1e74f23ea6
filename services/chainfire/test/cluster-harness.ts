/**
 * A ChainFire cluster of real processes on loopback for tests and benchmarks: each member is
 * `bin/photoncloud serve chainfire` with its own free ports and temp data directory; the first
 * starts the cluster, the others `--join` it. Members can be killed (-9), paused (SIGSTOP),
 * resumed and restarted on the same data directory and ports.
 *
 * With `partitionable`, every member dials every other through its own link proxy (one per ordered
 * pair, set with PHOTONCLOUD_CHAINFIRE_PEER_DIAL), so that a test can cut single directions of the
 * peer network, or isolate a member, and heal it again.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startLinkProxy, startProcess, tempDir, waitFor } from '@photoncloud/test-utils';
import type { LinkProxy, StartedProcess } from '@photoncloud/test-utils';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** One member process. */
export interface ClusterMember {
  index: number;
  httpPort: number;
  grpcPort: number;
  httpUrl: string;
  grpcAddress: string;
  dataDir: string;
  proc: StartedProcess | undefined;
}

/** Cluster status as REST reports it (the fields tests look at). */
export interface MemberStatus {
  node_id: number;
  member_id: string;
  term: number;
  role: string;
  is_leader: boolean;
  leader_id: number | null;
  applied_index: number;
  commit_index: number;
  members: Array<{ id: number; member_id: string; is_learner: boolean }>;
}

/** Options of `startCluster`. */
export interface ClusterOptions {
  size: number;
  /** Extra environment for every member (e.g. snapshot tuning). */
  env?: Record<string, string>;
  /** Route peer traffic through link proxies that can be cut (`cut`, `isolate`, `heal`). */
  partitionable?: boolean;
  /** Extra node flags for every member (e.g. `--cpu-prof`, which NODE_OPTIONS does not take). */
  nodeArgs?: string[];
  /**
   * `join` (default): member 0 starts the cluster, the others join it one by one. `initial-cluster`:
   * every member starts at once with the same `--initial-cluster` list.
   */
  bootstrap?: 'join' | 'initial-cluster';
}

/** A running cluster; `close()` kills every member it started (by PID) and removes the data. */
export class Cluster {
  readonly members: ClusterMember[] = [];
  private readonly cleanups: Array<() => Promise<void>> = [];
  /** Link proxies by `from>to` (partitionable clusters only). */
  private readonly links = new Map<string, LinkProxy>();

  /** The `--initial-cluster` list every member is started with (bootstrap `initial-cluster`). */
  private initialCluster: string | undefined;

  /** The cluster secret every member is started with (`PHOTONCLOUD_CLUSTER_SECRET`). */
  readonly secret = randomBytes(24).toString('base64url');

  private constructor(
    private readonly env: Record<string, string>,
    private readonly nodeArgs: string[],
  ) {}

  /** Start member 0, then join the others one by one (each waits for a leader). */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(opts.env ?? {}, opts.nodeArgs ?? []);
    try {
      const used = new Set<number>();
      const port = async (): Promise<number> => {
        for (;;) {
          const p = await freePort();
          if (!used.has(p)) {
            used.add(p);
            return p;
          }
        }
      };
      for (let i = 0; i < opts.size; i++) {
        const dir = await tempDir(`cf-cluster-${i}-`);
        c.cleanups.push(() => dir.cleanup());
        const httpPort = await port();
        const grpcPort = await port();
        c.members.push({
          index: i,
          httpPort,
          grpcPort,
          httpUrl: `http://127.0.0.1:${httpPort}`,
          grpcAddress: `127.0.0.1:${grpcPort}`,
          dataDir: dir.path,
          proc: undefined,
        });
      }
      if (opts.partitionable) {
        for (const a of c.members)
          for (const b of c.members) {
            if (a === b) continue;
            const p = await startLinkProxy('127.0.0.1', b.grpcPort);
            c.cleanups.unshift(() => p.close());
            c.links.set(`${a.index}>${b.index}`, p);
          }
      }
      if (opts.bootstrap === 'initial-cluster') {
        c.initialCluster = c.members.map((m) => `m${m.index}=http://${m.grpcAddress}`).join(',');
        await Promise.all(c.members.map((m) => c.startMember(m.index)));
        return c;
      }
      for (const m of c.members) {
        await c.startMember(m.index, m.index === 0 ? undefined : c.members[0]!.grpcAddress);
        if (m.index > 0) await c.waitVoter(m.index);
      }
      return c;
    } catch (e) {
      await c.close();
      throw e;
    }
  }

  /** Start (or restart) member `i`; with `join` on a fresh data directory it joins the cluster. */
  async startMember(i: number, joinAddr?: string): Promise<void> {
    const m = this.members[i]!;
    const args = [
      ...this.nodeArgs,
      join(REPO_ROOT, 'bin', 'photoncloud'),
      'serve',
      'chainfire',
      '--data-dir',
      m.dataDir,
      '--host',
      '127.0.0.1',
      '--http-port',
      String(m.httpPort),
      '--grpc-port',
      String(m.grpcPort),
      ...(joinAddr === undefined ? [] : ['--join', joinAddr]),
      ...(this.initialCluster === undefined ? [] : ['--initial-cluster', this.initialCluster]),
    ];
    const dial = this.members
      .filter((o) => o !== m && this.links.has(`${i}>${o.index}`))
      .map((o) => `${o.grpcAddress}=127.0.0.1:${this.links.get(`${i}>${o.index}`)!.port}`);
    m.proc = await startProcess(process.execPath, args, {
      cwd: REPO_ROOT,
      env: {
        PHOTONCLOUD_LOG_LEVEL: 'warn',
        PHOTONCLOUD_CLUSTER_SECRET: this.secret,
        ...this.env,
        ...(dial.length === 0 ? {} : { PHOTONCLOUD_CHAINFIRE_PEER_DIAL: dial.join(',') }),
      },
    });
    await waitFor(
      async () => {
        try {
          return (await fetch(`${m.httpUrl}/health`)).ok;
        } catch {
          if (m.proc && (await Promise.race([m.proc.exited.then(() => true), Promise.resolve(false)])))
            throw new Error(
              `member ${i} exited: ${m.proc.stderr().slice(-2000)} ${m.proc.stdout().slice(-2000)}`,
            );
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `ChainFire member ${i} /health` },
    );
  }

  /** Cluster status of member `i` (undefined when it does not answer). */
  async status(i: number): Promise<MemberStatus | undefined> {
    try {
      const r = await fetch(`${this.members[i]!.httpUrl}/api/v1/cluster/status`, {
        signal: AbortSignal.timeout(1000),
      });
      if (!r.ok) return undefined;
      return ((await r.json()) as { data: MemberStatus }).data;
    } catch {
      return undefined;
    }
  }

  /** Wait until member `i` is a voter, as its own status reports. */
  async waitVoter(i: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        const s = await this.status(i);
        return s !== undefined && s.members.some((x) => x.member_id === s.member_id && !x.is_learner);
      },
      { timeoutMs, intervalMs: 100, what: `member ${i} to become a voter` },
    );
  }

  /**
   * Wait until member `i` knows a leader and applied up to `leader`'s commit index less `slack`
   * (default 0), or up to `atLeast` when given; with `follows`, it must also follow `leader` in
   * the leader's term.
   */
  async waitCaughtUp(
    i: number,
    leader: number,
    o: { what: string; slack?: number; atLeast?: number; follows?: boolean; timeoutMs?: number },
  ): Promise<void> {
    await waitFor(
      async () => {
        const [me, lead] = await Promise.all([this.status(i), this.status(leader)]);
        if (me === undefined || lead === undefined || me.leader_id === null) return false;
        if (o.follows === true && (me.leader_id !== lead.node_id || me.term !== lead.term)) return false;
        return me.applied_index >= (o.atLeast ?? lead.commit_index - (o.slack ?? 0));
      },
      { timeoutMs: o.timeoutMs ?? 15_000, intervalMs: 100, what: o.what },
    );
  }

  /** The index of the member every live member agrees leads (waits for one). */
  async waitLeader(among: number[] = this.members.map((m) => m.index), timeoutMs = 15_000): Promise<number> {
    let leader = -1;
    await waitFor(
      async () => {
        const st = await Promise.all(among.map((i) => this.status(i)));
        const leaders = among.filter((i, k) => st[k]?.is_leader === true);
        if (leaders.length !== 1) return false;
        const lid = st[among.indexOf(leaders[0]!)]!.node_id;
        if (!st.every((s) => s !== undefined && s.leader_id === lid)) return false;
        leader = leaders[0]!;
        return true;
      },
      { timeoutMs, intervalMs: 50, what: 'a leader all live members agree on' },
    );
    return leader;
  }

  /** Kill member `i` with SIGKILL and wait for it to be gone. */
  async kill(i: number): Promise<void> {
    const p = this.members[i]!.proc;
    if (!p) return;
    process.kill(p.pid, 'SIGKILL');
    await p.exited;
    this.members[i]!.proc = undefined;
  }

  /** Send SIGSTOP / SIGCONT to member `i`. */
  signal(i: number, sig: 'SIGSTOP' | 'SIGCONT'): void {
    const p = this.members[i]!.proc;
    if (p) process.kill(p.pid, sig);
  }

  private link(from: number, to: number): LinkProxy {
    const p = this.links.get(`${from}>${to}`);
    if (!p) throw new Error(`no link ${from}>${to}: start the cluster with partitionable: true`);
    return p;
  }

  /** Drop everything member `from` sends to member `to` (one direction only). */
  cut(from: number, to: number): void {
    this.link(from, to).cut();
  }

  /** Cut member `i` off from every other member, both directions. */
  isolate(i: number): void {
    for (const m of this.members)
      if (m.index !== i) {
        this.cut(i, m.index);
        this.cut(m.index, i);
      }
  }

  /** Heal every cut link. */
  heal(): void {
    for (const p of this.links.values()) if (p.isCut) p.heal();
  }

  /** Stop every member (SIGCONT first, so a paused one can exit) and remove the data. */
  async close(): Promise<void> {
    for (const m of this.members) {
      if (!m.proc) continue;
      try {
        process.kill(m.proc.pid, 'SIGCONT');
      } catch {
        // gone
      }
      await m.proc.stop('SIGKILL', 1000).catch(() => undefined);
      m.proc = undefined;
    }
    for (const c of this.cleanups.splice(0)) await c().catch(() => undefined);
  }
}
