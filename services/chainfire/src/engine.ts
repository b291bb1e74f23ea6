/**
 * The ChainFire engine: the `Store` interface (etcd v3 semantics) over an MVCC state machine in LMDB,
 * fed by a Raft log persisted in a WAL. One member alone (the default) or a member of a cluster whose
 * peers talk over the gRPC listener (see `cluster/peer-transport.ts`).
 *
 * Write path: validate + normalise → encode → propose to Raft → WAL write + fdatasync (shared by every
 * write in the batch) → apply in one LMDB transaction → watch fan-out → the promise resolves. A write
 * is acknowledged only once durable in the WAL. Reads run against LMDB directly: every acknowledged
 * write is applied before it is acknowledged, and with one voter this node is the leader, so reads
 * are linearizable. In a cluster, a read first gets a ReadIndex (the leader confirms it still leads)
 * and waits until this member applied up to it; a follower hands writes to the leader (`Forward`).
 * Without a quorum, requests fail with `timeout`/`noLeader` after a bounded wait (`requestTimeoutMs`).
 *
 * Data directory: `member/wal/` (Raft WAL segments), `member/db/` (LMDB), `LOCK` (owner PID).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  NotLeaderError,
  ProposalDroppedError,
  RaftNode,
  RaftStoppedError,
  RaftTimeoutError,
  silentLogger,
} from '@photoncloud/raft';
import type { Entry, Logger, Message, Role, Snapshot } from '@photoncloud/raft';
import { StoreError } from '@photoncloud/store';
import type {
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseTimeToLiveResponse,
  Member,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  StatusResponse,
  Store,
  TxnRequest,
  TxnResponse,
  WatchListener,
  WatchRequest,
  Watcher,
} from '@photoncloud/store';
import { encodeCommand } from './core/commands.js';
import type { Command } from './core/commands.js';
import { canonicalLeaseId } from './core/kv-record.js';
import { LeaseDeadlines } from './core/lease-deadlines.js';
import {
  DEFAULT_MIN_LEASE_TTL,
  MAX_LEASE_TTL,
  MAX_REQUEST_BYTES,
  MAX_TXN_OPS,
  SERVER_VERSION,
} from './core/limits.js';
import {
  isTxnReadOnly,
  normalizeDelete,
  normalizePut,
  normalizeRange,
  normalizeTxn,
} from './core/requests.js';
import { MvccStore } from './storage/mvcc-store.js';
import type { Identity, MemberRecord, OpOutcome, Outcome, TxnOutcome } from './storage/mvcc-store.js';
import { MembershipError, PeerAuthError, PeerTransport, peerAddress } from './cluster/peer-transport.js';
import type { PeerHandlers } from './cluster/peer-transport.js';
import { bootstrapEntryData, staticCluster } from './cluster/initial-cluster.js';
import type { InitialMember, StaticMember } from './cluster/initial-cluster.js';
import type { Codable } from './core/value-codec.js';
import { WatchHub } from './storage/watch-hub.js';
import {
  readSnapshotRef,
  snapshotFileName,
  snapshotRef,
  sweepSnapshotFiles,
} from './storage/snapshot-file.js';

/** Options of `openChainFire`. Only `dataDir` is required; the rest have production defaults. */
export interface ChainFireOptions {
  /** Directory holding the WAL, the LMDB files and the lock file. Created when missing. */
  dataDir: string;
  /** Member name (default "default", like etcd). */
  name?: string;
  /** Advertised client URLs (reported by memberList). */
  clientUrls?: string[];
  /** Advertised peer URLs (reported by memberList). */
  peerUrls?: string[];
  /** A pino-compatible logger; silent by default. */
  logger?: Logger;
  /** Minimum lease TTL in seconds (default 2, etcd 3.4's default); smaller grants are raised to it. */
  minLeaseTtl?: number;
  /** How often expired leases are looked for, in ms (default 500, like etcd). */
  leaseCheckIntervalMs?: number;
  /** Raft tick in ms (default 100). */
  tickMs?: number;
  /** Checkpoint (LMDB fsync + WAL compaction) at least this often, in ms (default 10 000). */
  checkpointIntervalMs?: number;
  /** ... or after this many applied entries (default 10 000) ... */
  checkpointEntries?: number;
  /** ... or after this many applied payload bytes (default 64 MiB). */
  checkpointBytes?: number;
  /** WAL segment size in bytes (default 64 MiB). */
  walSegmentBytes?: number;
  /** Largest accepted request, in bytes (default etcd's 1572864). */
  maxRequestBytes?: number;
  /** Most operations per txn level (default etcd's 128). */
  maxTxnOps?: number;
  /** Interval of watch progress notifications (default 10 minutes, like etcd). */
  progressNotifyIntervalMs?: number;
  /**
   * fsync LMDB on every apply batch instead of at checkpoints (default false). Slower; only needed
   * to survive power loss or a kernel crash without relying on the last checkpoint (ADR 0002).
   */
  syncStateMachine?: boolean;
  /**
   * Where to connect for a peer's advertised gRPC address (`host:port` → `host:port`); peers not
   * listed are dialled at their advertised address. Used for relays and by the partition tests.
   */
  peerDial?: ReadonlyMap<string, string>;
  /**
   * The cluster secret (`cluster/cluster-secret.ts`), sent on every call to a peer. Default: a random
   * one, which is fine for a member that stays alone (peers would refuse it).
   */
  clusterSecret?: string;
  /** Dial peers over TLS, checking their certificates against this CA (PEM). */
  peerTlsCa?: Buffer;
  /**
   * gRPC address (`host:port`) of a member of an existing cluster. On first start (empty data
   * directory) this member asks the cluster to add it (as a learner, promoted to voter once caught
   * up) instead of starting a new cluster. Ignored once the data directory holds an identity.
   */
  join?: string;
  /**
   * Members of a new cluster started all at once (etcd's `--initial-cluster`), this one among them
   * (found by its peer URL). Needs the same `clusterSecret` on every member (the IDs derive from it).
   * Ignored once the data directory holds an identity; not with `join`.
   */
  initialCluster?: InitialMember[];
  /** How long a request may wait for a leader or a quorum before failing (default 5000 ms). */
  requestTimeoutMs?: number;
  /**
   * Log entries kept behind a checkpoint for followers that lag (default 5000, like etcd); a
   * follower further behind gets a snapshot. Only matters in a cluster.
   */
  snapshotCatchUpEntries?: number;
}

/** The body of a membership change entry: Raft's change plus the member's metadata. */
interface MemberChange {
  type: 'addNode' | 'addLearner' | 'removeNode';
  nodeId: string;
  nodeNum?: number;
  name?: string;
  peerUrls?: string[];
  clientUrls?: string[];
}

/** What `memberAdd` and friends return. */
export interface MemberChangeResult {
  header: ResponseHeader;
  member?: Member;
  /** Small numeric ID of `member` (for an add). */
  nodeNum?: number;
  members: Member[];
}

/** Raft and storage status of this member. */
export interface ClusterStatus {
  /** Small numeric ID of this member in the cluster (1 for the bootstrap member). */
  nodeId: number;
  /** Member ID, decimal uint64. */
  memberId: string;
  /** Cluster ID, decimal uint64. */
  clusterId: string;
  term: number;
  role: Role;
  isLeader: boolean;
  /** Member ID of the leader, "0" when there is none. */
  leaderId: string;
  appliedIndex: number;
  commitIndex: number;
  revision: number;
  compactRevision: number;
  /** Bytes of the LMDB data file. */
  dbSize: number;
  members: Member[];
  /** Small numeric IDs of the members, by member ID. */
  memberNodeIds: Record<string, number>;
}

/** The ChainFire store: etcd v3 semantics, plus Raft status. */
export interface ChainFire extends Store {
  clusterStatus(): Promise<ClusterStatus>;
  /**
   * Add a member (etcd MemberAdd). A voter is refused while the cluster could not reach a quorum
   * with it (etcd's strict reconfiguration check); learners are always accepted.
   */
  memberAdd(req: MemberAddRequest): Promise<MemberChangeResult>;
  /** Remove a member (etcd MemberRemove). */
  memberRemove(id: string): Promise<MemberChangeResult>;
  /** Promote a learner that caught up with the leader (etcd MemberPromote). */
  memberPromote(id: string): Promise<MemberChangeResult>;
  /**
   * Change a member's peer URLs (etcd MemberUpdate): the member table entry changes through the
   * Raft log like any membership change, the Raft configuration stays as it is.
   */
  memberUpdate(id: string, peerUrls: string[]): Promise<MemberChangeResult>;
  /** Handlers for the peer service on the gRPC listener. */
  peerHandlers(): PeerHandlers;
}

/** What `memberAdd` takes. */
export interface MemberAddRequest {
  peerUrls: string[];
  isLearner: boolean;
  name?: string;
  /** Small numeric ID wanted (REST `node_id`); default the next free one. */
  nodeNum?: number;
  clientUrls?: string[];
}

/** Refuse peer URLs a member could not be dialled at (etcd's "given member URLs are invalid"). */
function checkPeerUrls(urls: unknown): void {
  if (
    !Array.isArray(urls) ||
    urls.length === 0 ||
    urls.some((u) => typeof u !== 'string' || peerAddress(u) === undefined)
  )
    throw new MembershipError('memberBadUrls', 'etcdserver: given member URLs are invalid');
}

interface PersistedIdentity extends Identity {
  nodeId: number;
  /** Joined an existing cluster (no bootstrap membership of its own). */
  joined?: boolean;
  /** Started with an initial cluster: its members, the bootstrap voters. */
  initialMembers?: StaticMember[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** A random non-zero uint64 as a decimal string (member and cluster IDs). */
function randomUint64(): string {
  for (;;) {
    const n = randomBytes(8).readBigUInt64BE();
    if (n !== 0n) return n.toString();
  }
}

/** A random positive int63 as a decimal string (lease IDs, as etcd picks them). */
function randomLeaseId(): string {
  for (;;) {
    const n = randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn;
    if (n !== 0n) return n.toString();
  }
}

function now(): number {
  return performance.now();
}

/** Hold `dir/LOCK` with our PID; a lock left by a dead process is taken over. */
function acquireLock(dir: string): string {
  const lock = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return lock;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number(fs.readFileSync(lock, 'utf8').trim());
    let alive = false;
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (alive) throw new Error(`chainfire: data directory ${dir} is in use by process ${pid}`);
    fs.rmSync(lock, { force: true });
  }
  throw new Error(`chainfire: could not lock data directory ${dir}`);
}

class ChainFireEngine implements ChainFire {
  private raft!: RaftNode<Outcome>;
  private transport: PeerTransport | undefined;
  private promoteTimer: NodeJS.Timeout | undefined;
  private readonly requestTimeoutMs: number;
  /** Peer addresses learned when joining, until the member table (replicated) has them. */
  private readonly peerHints = new Map<string, string>();
  private readonly deadlines = new LeaseDeadlines();
  private readonly revoking = new Set<string>();
  private hub!: WatchHub;
  private identity!: PersistedIdentity;
  private leaseTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointing: Promise<void> | undefined;
  private entriesSinceCheckpoint = 0;
  private bytesSinceCheckpoint = 0;
  private compacting = false;
  private compactionWaiters: Array<() => void> = [];
  private closed = false;
  private closing: Promise<void> | undefined;
  private fatal: Error | undefined;
  private readonly log: Logger;
  private readonly minLeaseTtl: number;
  private readonly maxRequestBytes: number;
  private readonly maxTxnOps: number;

  constructor(
    private readonly opts: ChainFireOptions,
    private readonly mvcc: MvccStore,
    private readonly lockFile: string,
  ) {
    this.log = opts.logger ?? silentLogger;
    this.minLeaseTtl = Math.max(1, Math.trunc(opts.minLeaseTtl ?? DEFAULT_MIN_LEASE_TTL));
    this.maxRequestBytes = opts.maxRequestBytes ?? MAX_REQUEST_BYTES;
    this.maxTxnOps = opts.maxTxnOps ?? MAX_TXN_OPS;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
  }

  /** Snapshot files being written, by path: resolve to their size. */
  private readonly exports = new Map<string, Promise<number>>();

  /** Where Raft snapshots are written to be sent, and received to be installed. */
  private get snapDir(): string {
    return path.join(this.opts.dataDir, 'member', 'snap');
  }

  /** Peer addresses from the member table; rebuilt after a membership change is applied. */
  private peerAddrs: Map<string, string> | undefined;

  /** The gRPC address of member `id`, from the member table. */
  private resolvePeer(id: string): string | undefined {
    if (!this.peerAddrs) {
      this.peerAddrs = new Map();
      for (const m of this.mvcc.members()) {
        const url = m.peerUrls[0] ?? m.clientUrls[0];
        const a = url === undefined ? undefined : peerAddress(url);
        if (a !== undefined) this.peerAddrs.set(m.id, a);
      }
    }
    return this.peerAddrs.get(id) ?? this.peerHints.get(id);
  }

  /** Ask the cluster at `addr` to add this member; retried for a bounded time. */
  private async joinCluster(addr: string, t: PeerTransport): Promise<PersistedIdentity> {
    const o = this.opts;
    const peerUrls = o.peerUrls ?? o.clientUrls ?? [];
    if (peerUrls.length === 0) throw new Error('chainfire: joining a cluster needs an advertised peer URL');
    const name = o.name ?? 'default';
    const clientUrls = o.clientUrls ?? peerUrls;
    let lastErr: unknown;
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        const res = (await t.forward(addr, 'join', [{ name, peerUrls, clientUrls }], 10_000)) as {
          memberId: string;
          clusterId: string;
          nodeNum: number;
          peers: Array<[string, string]>;
        };
        for (const [peer, url] of res.peers) {
          const a = peerAddress(url);
          if (a !== undefined) this.peerHints.set(peer, a);
        }
        return {
          nodeId: res.nodeNum,
          clusterId: res.clusterId,
          memberId: res.memberId,
          name,
          peerUrls,
          clientUrls,
          joined: true,
        };
      } catch (e) {
        lastErr = e;
        if (e instanceof MembershipError || e instanceof TypeError || e instanceof PeerAuthError) throw e;
        await sleep(250);
      }
    }
    throw new Error(
      `chainfire: could not join the cluster at ${addr}: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}`,
    );
  }

  async start(): Promise<void> {
    const o = this.opts;
    let id = this.mvcc.getIdentity() as PersistedIdentity | undefined;
    const secret = o.clusterSecret ?? randomBytes(32).toString('base64url');
    // Snapshot files of an earlier run are of no use now.
    fs.mkdirSync(this.snapDir, { recursive: true });
    sweepSnapshotFiles(this.snapDir, 0);
    this.transport = new PeerTransport(
      (peer) => this.resolvePeer(peer),
      this.log,
      secret,
      o.peerDial,
      o.peerTlsCa,
      async (file) => await (this.exports.get(file) ?? fs.promises.stat(file).then((st) => st.size)),
    );
    if (!id && o.join !== undefined) {
      id = await this.joinCluster(o.join, this.transport);
      await this.mvcc.setIdentity(id);
      this.log.info(
        { memberId: id.memberId, clusterId: id.clusterId, via: o.join },
        'chainfire: joined cluster',
      );
    } else if (!id && o.initialCluster !== undefined) {
      const sc = staticCluster(secret, o.initialCluster);
      const self = sc.members.find((m) => (o.peerUrls ?? []).includes(m.peerUrl));
      if (!self) {
        throw new Error(
          `chainfire: this member's peer URL (${o.peerUrls?.join(', ') || 'none'}) is not in the initial cluster (${o.initialCluster.map((m) => m.peerUrl).join(', ')})`,
        );
      }
      id = {
        nodeId: self.nodeNum,
        clusterId: sc.clusterId,
        memberId: self.memberId,
        name: self.name,
        peerUrls: o.peerUrls ?? [],
        clientUrls: o.clientUrls ?? o.peerUrls ?? [],
        initialMembers: sc.members,
      };
      await this.mvcc.setIdentity(id);
      this.log.info(
        { memberId: id.memberId, clusterId: id.clusterId, members: sc.members.length },
        'chainfire: new cluster from the initial member list',
      );
    } else if (!id) {
      id = {
        nodeId: 1,
        clusterId: randomUint64(),
        memberId: randomUint64(),
        name: o.name ?? 'default',
        peerUrls: o.peerUrls ?? [],
        clientUrls: o.clientUrls ?? [],
      };
      await this.mvcc.setIdentity(id);
      this.log.info({ memberId: id.memberId, clusterId: id.clusterId }, 'chainfire: new cluster');
    } else if (
      (o.name !== undefined && o.name !== id.name) ||
      (o.peerUrls !== undefined && o.peerUrls.join() !== id.peerUrls.join()) ||
      (o.clientUrls !== undefined && o.clientUrls.join() !== id.clientUrls.join())
    ) {
      id = {
        ...id,
        name: o.name ?? id.name,
        peerUrls: o.peerUrls ?? id.peerUrls,
        clientUrls: o.clientUrls ?? id.clientUrls,
      };
      await this.mvcc.setIdentity(id);
    }
    this.identity = id;
    // After a restart every lease gets its full TTL again (etcd does the same on leader change).
    const t = now();
    for (const l of this.mvcc.allLeases()) this.deadlines.refresh(l.id, l.ttl, t);
    this.hub = new WatchHub(this.mvcc, (rev) => this.header(rev), this.log, {
      progressNotifyMs: o.progressNotifyIntervalMs,
    });
    const members = this.mvcc.members();
    const applied = this.mvcc.appliedIndex;
    const transport = this.transport;
    this.raft = await RaftNode.open<Outcome>({
      walDir: path.join(o.dataDir, 'member', 'wal'),
      id: id.memberId,
      voters: id.joined ? [] : (id.initialMembers?.map((m) => m.memberId) ?? [id.memberId]),
      ...(id.initialMembers === undefined
        ? {}
        : {
            bootstrapEntryData: (() => {
              const byId = new Map(id.initialMembers.map((m) => [m.memberId, m]));
              return (member: string) => bootstrapEntryData(byId.get(member)!);
            })(),
          }),
      applied:
        members.length > 0
          ? {
              ...applied,
              conf: {
                voters: members.filter((m) => !m.isLearner).map((m) => m.id),
                learners: members.filter((m) => m.isLearner).map((m) => m.id),
              },
            }
          : applied,
      apply: (entries) => this.apply(entries),
      transport: (msgs: Message[]) => transport.send(msgs),
      takeSnapshot: () => {
        // The file is written in the background; the transport streams it once complete.
        const file = snapshotFileName(this.snapDir, 'send');
        const written = this.mvcc.exportSnapshotFile(file);
        this.exports.set(file, written);
        const forget = (): void => void this.exports.delete(file);
        written.then(forget, forget);
        return snapshotRef(file, 0);
      },
      installSnapshot: (snap) => this.installSnapshot(snap),
      onLeaderChange: (lead) => this.onLeaderChange(lead),
      requestTimeoutMs: this.requestTimeoutMs,
      tickMs: o.tickMs,
      segmentBytes: o.walSegmentBytes,
      logger: this.log,
      onFatal: (err) => {
        this.fatal = err;
      },
    });
    this.leaseTimer = setInterval(() => this.expireLeases(), o.leaseCheckIntervalMs ?? 500);
    this.leaseTimer.unref();
    this.checkpointTimer = setInterval(() => void this.checkpoint(), o.checkpointIntervalMs ?? 10_000);
    this.checkpointTimer.unref();
    if (this.mvcc.compactionPending()) this.runCompaction();
    if (id.joined) this.startPromoter();
  }

  /**
   * A member that joined as a learner asks the leader to promote it until it is a voter (the
   * leader refuses while it is still catching up).
   */
  private startPromoter(): void {
    const tick = async (): Promise<void> => {
      if (this.closed || this.closing || this.fatal) return;
      const st = this.raft.status();
      if (st.voters.includes(this.identity.memberId)) {
        if (this.promoteTimer) clearInterval(this.promoteTimer);
        this.promoteTimer = undefined;
        return;
      }
      if (!st.learners.includes(this.identity.memberId)) return; // not yet caught up to its add
      try {
        await this.memberPromote(this.identity.memberId);
        this.log.info({ memberId: this.identity.memberId }, 'chainfire: promoted to voter');
      } catch (e) {
        this.log.debug(
          { err: e instanceof Error ? e.message : String(e) },
          'chainfire: promotion not yet possible',
        );
      }
    };
    let busy = false;
    this.promoteTimer = setInterval(() => {
      if (busy) return;
      busy = true;
      void tick().finally(() => (busy = false));
    }, 500);
    this.promoteTimer.unref();
  }

  private async installSnapshot(snap: Snapshot): Promise<void> {
    const ref = readSnapshotRef(snap.data);
    if (ref === undefined) throw new Error('chainfire: a snapshot message without a snapshot file');
    this.log.info({ index: snap.meta.index, bytes: ref.bytes }, 'chainfire: installing snapshot');
    try {
      await this.mvcc.importSnapshotFile(ref.file, snap.meta);
    } finally {
      fs.rmSync(ref.file, { force: true });
    }
    // The snapshot's revisions were applied without a publish: watchers replay them from history.
    this.hub.resync();
    this.peerAddrs = undefined;
    const t = now();
    for (const l of this.mvcc.allLeases()) this.deadlines.refresh(l.id, l.ttl, t);
    this.entriesSinceCheckpoint = 0;
    this.bytesSinceCheckpoint = 0;
  }

  private onLeaderChange(lead: string): void {
    this.log.info(
      { leader: lead === '' ? null : lead, term: this.raft?.term() },
      'chainfire: leader changed',
    );
    // A new leader gives every lease its full TTL again (etcd does the same).
    if (lead === this.identity.memberId) {
      const t = now();
      for (const l of this.mvcc.allLeases()) this.deadlines.refresh(l.id, l.ttl, t);
    }
  }

  // ------------------------------------------------------------------ cluster plumbing

  /** Whether requests are served here without involving peers (one voter, this one). */
  private solo(): boolean {
    return this.raft.isSingleVoter();
  }

  /**
   * Run a write on the leader: here when this member leads (or is alone), else forwarded. Waits a
   * bounded time for a leader to be known.
   */
  private async onLeader<T>(method: string, args: Codable[], local: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    if (this.solo()) return local();
    const deadline = now() + this.requestTimeoutMs;
    for (;;) {
      const lead = this.raft.leader();
      if (lead === this.identity.memberId) {
        try {
          return await local();
        } catch (e) {
          // Lost leadership before the proposal was taken: try the new leader.
          if (!(e instanceof StoreError && e.kind === 'notLeader' && now() < deadline)) throw e;
        }
      } else if (lead !== '') {
        const addr = this.resolvePeer(lead);
        if (addr !== undefined) {
          try {
            return (await this.transport!.forward(addr, method, args, Math.max(100, deadline - now()))) as T;
          } catch (e) {
            const retry =
              e instanceof StoreError &&
              (e.kind === 'notLeader' || e.kind === 'noLeader' || e.kind === 'unavailable') &&
              now() < deadline;
            if (!retry) throw e;
          }
        }
      }
      if (now() >= deadline) throw new StoreError('noLeader');
      this.ensureOpen();
      await sleep(50);
    }
  }

  /** A linearizable read barrier (nothing to do for a single voter). */
  private async readBarrier(serializable?: boolean): Promise<void> {
    this.ensureOpen();
    if (serializable === true || this.solo()) return;
    try {
      await this.raft.readIndex();
    } catch (e) {
      throw this.mapRaftError(e);
    }
  }

  private mapRaftError(e: unknown): unknown {
    if (e instanceof NotLeaderError) return new StoreError(e.leader === '' ? 'noLeader' : 'notLeader');
    if (e instanceof RaftStoppedError) return new StoreError('stopped');
    if (e instanceof RaftTimeoutError) return new StoreError('timeout');
    if (e instanceof ProposalDroppedError) return new StoreError('notLeader', e.message);
    return e;
  }

  /** Requests a follower forwarded to this member. */
  peerHandlers(): PeerHandlers {
    return {
      step: (msgs) => {
        if (this.closed || !this.raft) return;
        for (const m of msgs) this.raft.step(m);
      },
      forward: (method, args) => this.runForwarded(method, args),
      snapshotDir: this.snapDir,
    };
  }

  private async runForwarded(method: string, args: Codable[]): Promise<Codable> {
    this.ensureOpen();
    if (!this.raft.isLeader()) {
      // A joining member knows one address, not the leader: relay its request (one hop). Members
      // forward to the leader they know, and retry when it moved.
      if (method === 'join') return this.onLeader(method, args, () => this.runForwarded(method, args));
      throw new StoreError(this.raft.leader() === '' ? 'noLeader' : 'notLeader');
    }
    const a = args[0] as never;
    const b = args[1];
    let out: unknown;
    switch (method) {
      case 'put':
        out = await this.putLocal(a);
        break;
      case 'deleteRange':
        out = await this.deleteRangeLocal(a);
        break;
      case 'txn':
        out = await this.txnLocal(a);
        break;
      case 'compact':
        out = await this.compactLocal(a, b === true);
        break;
      case 'leaseGrant':
        out = await this.leaseGrantLocal(a, typeof b === 'string' ? b : undefined);
        break;
      case 'leaseRevoke':
        out = await this.leaseRevokeLocal(a);
        break;
      case 'leaseKeepAlive':
        out = await this.leaseKeepAliveLocal(a);
        break;
      case 'leaseTimeToLive':
        out = await this.leaseTimeToLiveLocal(a, b === true);
        break;
      case 'memberAdd':
        out = await this.memberAddLocal(a);
        break;
      case 'memberRemove':
        out = await this.memberRemoveLocal(a);
        break;
      case 'memberUpdate':
        out = await this.memberUpdateLocal(a, b as never);
        break;
      case 'memberPromote':
        out = await this.memberPromoteLocal(a);
        break;
      case 'join':
        out = await this.joinLocal(a);
        break;
      default:
        throw new TypeError(`forward: unknown method ${method}`);
    }
    return out as Codable;
  }

  // ------------------------------------------------------------------ plumbing

  private header(revision: number): ResponseHeader {
    return {
      clusterId: this.identity.clusterId,
      memberId: this.identity.memberId,
      revision,
      raftTerm: this.raft ? this.raft.term() : 0,
    };
  }

  private ensureOpen(): void {
    if (this.closed || this.closing || this.fatal) throw new StoreError('stopped');
  }

  /** The Raft apply callback: one LMDB transaction per batch, then watchers and lease timers. */
  private apply(entries: Entry[]): Outcome[] {
    const res = this.mvcc.applyBatch(entries);
    for (const e of entries) if (e.type === 'confChange') this.peerAddrs = undefined;
    const t = now();
    for (const eff of res.leaseEffects) {
      if ('granted' in eff) this.deadlines.refresh(eff.granted, eff.ttl, t);
      else {
        this.deadlines.delete(eff.revoked);
        this.revoking.delete(eff.revoked);
      }
    }
    if (this.hub) this.hub.publish(res.revisions);
    if (res.compacted) this.runCompaction();
    this.entriesSinceCheckpoint += entries.length;
    for (const e of entries) this.bytesSinceCheckpoint += e.data.length;
    if (
      this.entriesSinceCheckpoint >= (this.opts.checkpointEntries ?? 10_000) ||
      this.bytesSinceCheckpoint >= (this.opts.checkpointBytes ?? 64 * 1024 * 1024)
    ) {
      setImmediate(() => void this.checkpoint());
    }
    return res.outcomes;
  }

  private async propose(cmd: Command): Promise<Outcome> {
    this.ensureOpen();
    const data = encodeCommand(cmd);
    if (data.length > this.maxRequestBytes) throw new StoreError('requestTooLarge');
    let out: Outcome;
    try {
      out = await this.raft.propose(data);
    } catch (e) {
      throw this.mapRaftError(e);
    }
    if ('error' in out) throw new StoreError(out.error);
    return out;
  }

  /**
   * Make everything applied so far durable in LMDB, then let the WAL drop segments it covers. Runs
   * in the background; overlapping calls share one run.
   */
  checkpoint(): Promise<void> {
    if (this.checkpointing) return this.checkpointing;
    // Once closing, close() itself syncs LMDB; a checkpoint racing it could touch a closed env.
    if (this.closed || this.closing || this.fatal) return Promise.resolve();
    const run = async (): Promise<void> => {
      const applied = this.mvcc.appliedIndex.index;
      this.entriesSinceCheckpoint = 0;
      this.bytesSinceCheckpoint = 0;
      await this.mvcc.sync();
      if (this.closed || this.fatal) return;
      // In a cluster, keep a tail of entries for followers that lag a little (they would need a
      // snapshot otherwise).
      const keep = this.solo() ? 0 : (this.opts.snapshotCatchUpEntries ?? 5000);
      if (applied - keep > 0) this.raft.compactLog(applied - keep);
    };
    this.checkpointing = run()
      .catch((err: unknown) => {
        this.log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'chainfire: checkpoint failed',
        );
      })
      .finally(() => {
        this.checkpointing = undefined;
      });
    return this.checkpointing;
  }

  /** Physical compaction in small LMDB transactions, between other work. */
  private runCompaction(): void {
    if (this.compacting) return;
    this.compacting = true;
    const step = (): void => {
      let more = false;
      // Stop between steps when closing: progress is persisted and resumes on the next open.
      if (!this.closed && !this.closing) {
        try {
          more = this.mvcc.compactStep();
        } catch (err) {
          this.log.error(
            { err: err instanceof Error ? err.message : String(err) },
            'chainfire: compaction step failed',
          );
        }
      }
      if (more) {
        setImmediate(step);
        return;
      }
      this.compacting = false;
      const waiters = this.compactionWaiters;
      this.compactionWaiters = [];
      for (const w of waiters) w();
    };
    setImmediate(step);
  }

  private compactionIdle(): Promise<void> {
    if (!this.compacting) return Promise.resolve();
    return new Promise((resolve) => this.compactionWaiters.push(resolve));
  }

  private expireLeases(): void {
    if (this.closed || this.closing || this.fatal || !this.raft.isLeader()) return;
    for (const id of this.deadlines.expired(now())) {
      if (this.revoking.has(id)) continue;
      this.revoking.add(id);
      this.propose({ op: 'leaseRevoke', id })
        .catch((err: unknown) => {
          if (!(err instanceof StoreError && err.kind === 'leaseNotFound')) {
            this.log.warn(
              { lease: id, err: err instanceof Error ? err.message : String(err) },
              'chainfire: lease expiry revoke failed',
            );
          }
        })
        .finally(() => this.revoking.delete(id));
    }
  }

  // ------------------------------------------------------------------ KV

  async range(req: RangeRequest): Promise<RangeResponse> {
    this.ensureOpen();
    const r = normalizeRange(req);
    await this.readBarrier(req.serializable);
    const out = this.mvcc.range(r);
    return { header: this.header(out.revision), kvs: out.kvs, more: out.more, count: out.count };
  }

  put(req: PutRequest): Promise<PutResponse> {
    return this.onLeader('put', [req as unknown as Codable], () => this.putLocal(req));
  }

  private async putLocal(req: PutRequest): Promise<PutResponse> {
    const out = await this.propose({ op: 'put', req: normalizePut(req) });
    if (!('put' in out)) throw new Error('chainfire: unexpected apply outcome for put');
    const resp: PutResponse = { header: this.header(out.put.revision) };
    if (out.put.prevKv) resp.prevKv = out.put.prevKv;
    return resp;
  }

  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    return this.onLeader('deleteRange', [req as unknown as Codable], () => this.deleteRangeLocal(req));
  }

  private async deleteRangeLocal(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    const out = await this.propose({ op: 'deleteRange', req: normalizeDelete(req) });
    if (!('deleteRange' in out)) throw new Error('chainfire: unexpected apply outcome for deleteRange');
    const d = out.deleteRange;
    return { header: this.header(d.revision), deleted: d.deleted, prevKvs: d.prevKvs };
  }

  private toTxnResponse(t: TxnOutcome): TxnResponse {
    return {
      header: this.header(t.revision),
      succeeded: t.succeeded,
      responses: t.responses.map((r) => this.toResponseOp(r)),
    };
  }

  private toResponseOp(r: OpOutcome): ResponseOp {
    if ('range' in r) {
      const g = r.range;
      return { range: { header: this.header(g.revision), kvs: g.kvs, more: g.more, count: g.count } };
    }
    if ('put' in r) {
      const p: PutResponse = { header: this.header(r.put.revision) };
      if (r.put.prevKv) p.prevKv = r.put.prevKv;
      return { put: p };
    }
    if ('deleteRange' in r) {
      const d = r.deleteRange;
      return { deleteRange: { header: this.header(d.revision), deleted: d.deleted, prevKvs: d.prevKvs } };
    }
    return { txn: this.toTxnResponse(r.txn) };
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    this.ensureOpen();
    const t = normalizeTxn(req, this.maxTxnOps);
    if (isTxnReadOnly(t)) {
      await this.readBarrier();
      return this.toTxnResponse(this.mvcc.readOnlyTxn(t));
    }
    return this.onLeader('txn', [req as unknown as Codable], () => this.txnLocal(req));
  }

  private async txnLocal(req: TxnRequest): Promise<TxnResponse> {
    this.ensureOpen();
    const t = normalizeTxn(req, this.maxTxnOps);
    const out = await this.propose({ op: 'txn', req: t });
    if (!('txn' in out)) throw new Error('chainfire: unexpected apply outcome for txn');
    return this.toTxnResponse(out.txn);
  }

  compact(revision: number, physical = false): Promise<CompactionResponse> {
    return this.onLeader('compact', [revision, physical], () => this.compactLocal(revision, physical));
  }

  private async compactLocal(revision: number, physical = false): Promise<CompactionResponse> {
    this.ensureOpen();
    if (typeof revision !== 'number' || !Number.isFinite(revision))
      throw new TypeError('compact revision must be a number');
    const out = await this.propose({ op: 'compact', revision: Math.trunc(revision) });
    if (!('compact' in out)) throw new Error('chainfire: unexpected apply outcome for compact');
    if (physical) await this.compactionIdle();
    return { header: this.header(out.compact.revision) };
  }

  async watch(req: WatchRequest, listener: WatchListener): Promise<Watcher> {
    this.ensureOpen();
    return this.hub.add(req, listener);
  }

  // ------------------------------------------------------------------ leases

  leaseGrant(ttl: number, id?: string): Promise<LeaseGrantResponse> {
    return this.onLeader('leaseGrant', [ttl, id], () => this.leaseGrantLocal(ttl, id));
  }

  private async leaseGrantLocal(ttl: number, id?: string): Promise<LeaseGrantResponse> {
    this.ensureOpen();
    if (typeof ttl !== 'number' || !Number.isFinite(ttl)) throw new TypeError('lease TTL must be a number');
    const want = Math.trunc(ttl);
    if (want > MAX_LEASE_TTL) throw new StoreError('leaseTtlTooLarge');
    const granted = Math.max(want, this.minLeaseTtl);
    let chosen: string | undefined;
    if (id !== undefined && id !== '' && id !== '0') {
      chosen = canonicalLeaseId(id);
      if (chosen === undefined) throw new TypeError(`lease ID ${id} is not a decimal int64`);
      if (chosen === '0') chosen = undefined;
    }
    // A random ID that happens to be taken is simply drawn again; a caller's ID is not.
    for (let attempt = 0; ; attempt++) {
      const leaseId = chosen ?? randomLeaseId();
      try {
        const out = await this.propose({ op: 'leaseGrant', id: leaseId, ttl: granted });
        if (!('leaseGrant' in out)) throw new Error('chainfire: unexpected apply outcome for leaseGrant');
        return {
          header: this.header(out.leaseGrant.revision),
          id: out.leaseGrant.id,
          ttl: out.leaseGrant.ttl,
        };
      } catch (e) {
        if (chosen === undefined && e instanceof StoreError && e.kind === 'leaseExists' && attempt < 5)
          continue;
        throw e;
      }
    }
  }

  leaseRevoke(id: string): Promise<{ header: ResponseHeader }> {
    return this.onLeader('leaseRevoke', [id], () => this.leaseRevokeLocal(id));
  }

  private async leaseRevokeLocal(id: string): Promise<{ header: ResponseHeader }> {
    this.ensureOpen();
    const leaseId = canonicalLeaseId(String(id));
    if (leaseId === undefined || leaseId === '0') throw new StoreError('leaseNotFound');
    const out = await this.propose({ op: 'leaseRevoke', id: leaseId });
    if (!('leaseRevoke' in out)) throw new Error('chainfire: unexpected apply outcome for leaseRevoke');
    return { header: this.header(out.leaseRevoke.revision) };
  }

  leaseKeepAlive(id: string): Promise<LeaseKeepAliveResponse> {
    // The leader keeps the lease clocks that matter (it revokes expired leases).
    return this.onLeader('leaseKeepAlive', [id], () => this.leaseKeepAliveLocal(id));
  }

  private async leaseKeepAliveLocal(id: string): Promise<LeaseKeepAliveResponse> {
    this.ensureOpen();
    const leaseId = canonicalLeaseId(String(id));
    const header = this.header(this.mvcc.currentRevision);
    if (leaseId === undefined || leaseId === '0') return { header, id: String(id), ttl: 0 };
    const ttl = this.mvcc.leaseTtl(leaseId);
    const left = this.deadlines.remainingMs(leaseId, now());
    // An expired lease awaiting its revoke is as good as gone (etcd answers not-found as well).
    if (ttl === undefined || left === undefined || left <= 0) return { header, id: leaseId, ttl: 0 };
    this.deadlines.refresh(leaseId, ttl, now());
    return { header, id: leaseId, ttl };
  }

  leaseTimeToLive(id: string, keys = false): Promise<LeaseTimeToLiveResponse> {
    return this.onLeader('leaseTimeToLive', [id, keys], () => this.leaseTimeToLiveLocal(id, keys));
  }

  private async leaseTimeToLiveLocal(id: string, keys = false): Promise<LeaseTimeToLiveResponse> {
    this.ensureOpen();
    const leaseId = canonicalLeaseId(String(id));
    const header = this.header(this.mvcc.currentRevision);
    const missing: LeaseTimeToLiveResponse = {
      header,
      id: leaseId ?? String(id),
      ttl: -1,
      grantedTtl: 0,
      keys: [],
    };
    if (leaseId === undefined || leaseId === '0') return missing;
    const granted = this.mvcc.leaseTtl(leaseId);
    const left = this.deadlines.remainingMs(leaseId, now());
    if (granted === undefined || left === undefined || left <= 0) return missing;
    return {
      header,
      id: leaseId,
      // etcd truncates the remaining time to whole seconds.
      ttl: Math.trunc(left / 1000),
      grantedTtl: granted,
      keys: keys ? this.mvcc.keysOfLease(leaseId) : [],
    };
  }

  async leaseLeases(): Promise<{ header: ResponseHeader; leases: string[] }> {
    this.ensureOpen();
    await this.readBarrier();
    return { header: this.header(this.mvcc.currentRevision), leases: this.mvcc.allLeases().map((l) => l.id) };
  }

  // ------------------------------------------------------------------ cluster

  /** Member records as applied, with this member's own record from its identity. */
  private memberRecords(): MemberRecord[] {
    const id = this.identity;
    const st = this.raft.status();
    let recs = this.mvcc.members();
    // A data directory from before member tracking knows only itself.
    if (!recs.some((m) => m.id === id.memberId) && !id.joined) {
      recs = [
        { id: id.memberId, name: '', peerUrls: [], clientUrls: [], isLearner: false, nodeNum: 1 },
        ...recs,
      ];
    }
    return recs.map((m) => {
      const self = m.id === id.memberId;
      const selfPeers = id.peerUrls.length > 0 ? id.peerUrls : id.clientUrls;
      return {
        id: m.id,
        name: self ? id.name : m.name,
        peerUrls: self && m.peerUrls.length === 0 ? [...selfPeers] : [...m.peerUrls],
        clientUrls: self ? [...id.clientUrls] : [...m.clientUrls],
        isLearner: st.learners.includes(m.id) || (m.isLearner && !st.voters.includes(m.id)),
        nodeNum: self ? id.nodeId : m.nodeNum,
      };
    });
  }

  private members(): Member[] {
    return this.memberRecords().map((m) => ({
      id: m.id,
      name: m.name,
      peerUrls: m.peerUrls,
      clientUrls: m.clientUrls,
      isLearner: m.isLearner,
    }));
  }

  private changeResult(member?: Member): MemberChangeResult {
    const r: MemberChangeResult = { header: this.header(this.mvcc.currentRevision), members: this.members() };
    if (member) r.member = member;
    return r;
  }

  private async proposeMemberChange(cc: MemberChange): Promise<void> {
    this.ensureOpen();
    try {
      await this.raft.proposeConfChange(new TextEncoder().encode(JSON.stringify(cc)));
    } catch (e) {
      throw this.mapRaftError(e);
    }
  }

  /** Voters the leader heard from recently (itself included). */
  private activeVoters(): Set<string> {
    const st = this.raft.status();
    const active = new Set<string>([this.identity.memberId]);
    for (const p of this.raft.progress()) if (p.recentActive && st.voters.includes(p.id)) active.add(p.id);
    return active;
  }

  memberAdd(req: MemberAddRequest): Promise<MemberChangeResult> {
    return this.onLeader('memberAdd', [req as unknown as Codable], () => this.memberAddLocal(req));
  }

  private async memberAddLocal(req: MemberAddRequest): Promise<MemberChangeResult> {
    checkPeerUrls(req.peerUrls);
    await this.recordSelf();
    const recs = this.memberRecords();
    if (recs.some((m) => m.peerUrls.some((u) => req.peerUrls.includes(u))))
      throw new MembershipError('peerUrlExists', 'etcdserver: Peer URLs already exists');
    if (req.nodeNum !== undefined && recs.some((m) => m.nodeNum === req.nodeNum))
      throw new MembershipError('peerUrlExists', `etcdserver: node ID ${req.nodeNum} already exists`);
    if (!req.isLearner) {
      // etcd's strict reconfiguration check: the new voter is not running yet, so the voters that
      // are must still form a quorum of the larger cluster.
      const voters = this.raft.status().voters.length + 1;
      if (this.activeVoters().size < Math.floor(voters / 2) + 1)
        throw new MembershipError(
          'notEnoughStartedMembers',
          'etcdserver: re-configuration failed due to not enough started members',
        );
    }
    const memberId = randomUint64();
    const nodeNum = req.nodeNum ?? Math.max(0, ...recs.map((m) => m.nodeNum)) + 1;
    const cc: MemberChange = {
      type: req.isLearner ? 'addLearner' : 'addNode',
      nodeId: memberId,
      nodeNum,
      name: req.name ?? '',
      peerUrls: req.peerUrls,
      clientUrls: req.clientUrls ?? [],
    };
    await this.proposeMemberChange(cc);
    const member: Member = {
      id: memberId,
      name: cc.name ?? '',
      peerUrls: [...req.peerUrls],
      clientUrls: [...(cc.clientUrls ?? [])],
      isLearner: req.isLearner,
    };
    return { ...this.changeResult(member), nodeNum };
  }

  /**
   * Make sure the member table holds this (leading) member's own address before anyone else
   * joins: the bootstrap membership entry carries no metadata, and peers must be able to dial it.
   */
  private async recordSelf(): Promise<void> {
    const id = this.identity;
    const urls = id.peerUrls.length > 0 ? id.peerUrls : id.clientUrls;
    if (urls.length === 0) {
      throw new MembershipError(
        'memberBadUrls',
        'etcdserver: this member has no advertised peer URL (it listens on a wildcard or OS-chosen port)',
      );
    }
    const mine = this.mvcc.members().find((m) => m.id === id.memberId);
    if (mine && mine.peerUrls.join() === urls.join() && mine.name === id.name) return;
    await this.proposeMemberChange({
      type: 'addNode',
      nodeId: id.memberId,
      nodeNum: id.nodeId,
      name: id.name,
      peerUrls: urls,
      clientUrls: id.clientUrls,
    });
  }

  /** A new member asks to be added (or finds the entry an operator added for its peer URL). */
  private async joinLocal(req: {
    name: string;
    peerUrls: string[];
    clientUrls: string[];
  }): Promise<{ memberId: string; clusterId: string; nodeNum: number; peers: Array<[string, string]> }> {
    const peers = (): Array<[string, string]> =>
      this.memberRecords().flatMap((m): Array<[string, string]> =>
        m.peerUrls[0] ? [[m.id, m.peerUrls[0]]] : [],
      );
    const existing = this.memberRecords().find((m) => m.peerUrls.some((u) => req.peerUrls.includes(u)));
    if (existing)
      return {
        memberId: existing.id,
        clusterId: this.identity.clusterId,
        nodeNum: existing.nodeNum,
        peers: peers(),
      };
    const res = await this.memberAddLocal({ ...req, isLearner: true });
    const id = res.member!.id;
    const nodeNum = this.memberRecords().find((m) => m.id === id)?.nodeNum ?? 0;
    return { memberId: id, clusterId: this.identity.clusterId, nodeNum, peers: peers() };
  }

  memberRemove(id: string): Promise<MemberChangeResult> {
    return this.onLeader('memberRemove', [id], () => this.memberRemoveLocal(id));
  }

  private async memberRemoveLocal(id: string): Promise<MemberChangeResult> {
    const st = this.raft.status();
    const target = this.memberRecords().find((m) => m.id === id);
    if (!target) throw new StoreError('memberNotFound');
    if (st.voters.includes(id)) {
      const voters = st.voters.filter((v) => v !== id);
      const active = [...this.activeVoters()].filter((v) => v !== id).length;
      if (voters.length === 0 || active < Math.floor(voters.length / 2) + 1)
        throw new MembershipError(
          'notEnoughStartedMembers',
          'etcdserver: re-configuration failed due to not enough started members',
        );
    }
    await this.proposeMemberChange({ type: 'removeNode', nodeId: id });
    return this.changeResult({
      id: target.id,
      name: target.name,
      peerUrls: target.peerUrls,
      clientUrls: target.clientUrls,
      isLearner: target.isLearner,
    });
  }

  memberUpdate(id: string, peerUrls: string[]): Promise<MemberChangeResult> {
    return this.onLeader('memberUpdate', [id, peerUrls], () => this.memberUpdateLocal(id, peerUrls));
  }

  private async memberUpdateLocal(id: string, peerUrls: string[]): Promise<MemberChangeResult> {
    checkPeerUrls(peerUrls);
    await this.recordSelf();
    const recs = this.memberRecords();
    const target = recs.find((m) => m.id === id);
    if (!target) throw new StoreError('memberNotFound');
    if (recs.some((m) => m.id !== id && m.peerUrls.some((u) => peerUrls.includes(u))))
      throw new MembershipError('peerUrlExists', 'etcdserver: Peer URLs already exists');
    // addNode/addLearner of a member already in that role leaves the Raft configuration unchanged
    // and rewrites its table entry (the same path recordSelf takes).
    await this.proposeMemberChange({
      type: target.isLearner ? 'addLearner' : 'addNode',
      nodeId: id,
      nodeNum: target.nodeNum,
      name: target.name,
      peerUrls: [...peerUrls],
      clientUrls: target.clientUrls,
    });
    return this.changeResult({
      id,
      name: target.name,
      peerUrls: [...peerUrls],
      clientUrls: target.clientUrls,
      isLearner: target.isLearner,
    });
  }

  /**
   * Hand leadership to voter `id` (etcd MoveLeader; this member must lead). Resolves once `id`
   * leads; fails with `timeout` when it does not within the request timeout.
   */
  async moveLeader(id: string): Promise<void> {
    this.ensureOpen();
    if (!this.raft.isLeader()) throw new StoreError('notLeader');
    try {
      this.raft.transferLeadership(id);
    } catch (e) {
      throw this.mapRaftError(e);
    }
    const deadline = now() + this.requestTimeoutMs;
    while (this.raft.leader() !== id) {
      if (now() >= deadline) throw new StoreError('timeout');
      this.ensureOpen();
      await sleep(20);
    }
  }

  memberPromote(id: string): Promise<MemberChangeResult> {
    return this.onLeader('memberPromote', [id], () => this.memberPromoteLocal(id));
  }

  private async memberPromoteLocal(id: string): Promise<MemberChangeResult> {
    const st = this.raft.status();
    const target = this.memberRecords().find((m) => m.id === id);
    if (!target) throw new StoreError('memberNotFound');
    if (!st.learners.includes(id))
      throw new MembershipError('memberNotLearner', 'etcdserver: can only promote a learner member');
    // etcd's readiness rule: the learner's log matches at least 90% of the leader's.
    const pr = this.raft.progress().find((p) => p.id === id);
    if (!pr || !pr.recentActive || pr.match < st.commit * 0.9)
      throw new MembershipError(
        'learnerNotReady',
        'etcdserver: can only promote a learner member which is in sync with leader',
      );
    await this.proposeMemberChange({ type: 'addNode', nodeId: id });
    return this.changeResult({
      id: target.id,
      name: target.name,
      peerUrls: target.peerUrls,
      clientUrls: target.clientUrls,
      isLearner: false,
    });
  }

  async memberList(): Promise<{ header: ResponseHeader; members: Member[] }> {
    this.ensureOpen();
    return { header: this.header(this.mvcc.currentRevision), members: this.members() };
  }

  async status(): Promise<StatusResponse> {
    this.ensureOpen();
    const st = this.raft.status();
    return {
      header: this.header(this.mvcc.currentRevision),
      version: SERVER_VERSION,
      dbSize: this.mvcc.dbSize(),
      leader: st.lead === '' ? '0' : st.lead,
      raftIndex: st.commit,
      raftTerm: st.term,
      raftAppliedIndex: st.applied,
      isLearner: st.learners.includes(this.identity.memberId),
      errors: [],
    };
  }

  async clusterStatus(): Promise<ClusterStatus> {
    this.ensureOpen();
    const st = this.raft.status();
    return {
      nodeId: this.identity.nodeId,
      memberId: this.identity.memberId,
      clusterId: this.identity.clusterId,
      term: st.term,
      role: st.role,
      isLeader: st.role === 'leader',
      leaderId: st.lead === '' ? '0' : st.lead,
      appliedIndex: st.applied,
      commitIndex: st.commit,
      revision: this.mvcc.currentRevision,
      compactRevision: this.mvcc.compactRevision,
      dbSize: this.mvcc.dbSize(),
      members: this.members(),
      memberNodeIds: Object.fromEntries(this.memberRecords().map((m) => [m.id, m.nodeNum])),
    };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    if (this.promoteTimer) clearInterval(this.promoteTimer);
    this.hub?.close();
    await this.raft?.close();
    this.transport?.close();
    await this.checkpointing;
    await this.compactionIdle();
    this.closed = true;
    await this.mvcc.close();
    fs.rmSync(this.lockFile, { force: true });
  }
}

/**
 * Open (creating on first start) a ChainFire member in `opts.dataDir`. Resolves once the WAL is
 * replayed and this member leads, i.e. ready for reads and writes.
 */
export async function openChainFire(opts: ChainFireOptions): Promise<ChainFire> {
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const lock = acquireLock(opts.dataDir);
  let mvcc: MvccStore | undefined;
  try {
    mvcc = MvccStore.open(path.join(opts.dataDir, 'member', 'db'), {
      syncEveryCommit: opts.syncStateMachine,
    });
    const engine = new ChainFireEngine(opts, mvcc, lock);
    await engine.start();
    return engine;
  } catch (e) {
    await mvcc?.close().catch(() => undefined);
    fs.rmSync(lock, { force: true });
    throw e;
  }
}
