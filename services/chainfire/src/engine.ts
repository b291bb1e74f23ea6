/**
 * The ChainFire engine: the `Store` interface (etcd v3 semantics) over an MVCC state machine in LMDB,
 * fed by a Raft log (single voter for now) persisted in a WAL.
 *
 * Write path: validate + normalise → encode → propose to Raft → WAL write + fdatasync (shared by every
 * write in the batch) → apply in one LMDB transaction → watch fan-out → the promise resolves. A write
 * is acknowledged only once durable in the WAL. Reads run against LMDB directly: every acknowledged
 * write is applied before it is acknowledged, and with one voter this node is the leader, so reads
 * are linearizable.
 *
 * Data directory: `member/wal/` (Raft WAL segments), `member/db/` (LMDB), `LOCK` (owner PID).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { NotLeaderError, RaftNode, RaftStoppedError, silentLogger } from '@photoncloud/raft';
import type { Entry, Logger, Role } from '@photoncloud/raft';
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
import type { Identity, OpOutcome, Outcome, TxnOutcome } from './storage/mvcc-store.js';
import { WatchHub } from './storage/watch-hub.js';

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
}

/** The ChainFire store: etcd v3 semantics, plus Raft status. */
export interface ChainFire extends Store {
  clusterStatus(): Promise<ClusterStatus>;
}

interface PersistedIdentity extends Identity {
  nodeId: number;
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
  }

  async start(): Promise<void> {
    const o = this.opts;
    let id = this.mvcc.getIdentity() as PersistedIdentity | undefined;
    if (!id) {
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
    this.raft = await RaftNode.open<Outcome>({
      walDir: path.join(o.dataDir, 'member', 'wal'),
      id: id.memberId,
      applied: this.mvcc.appliedIndex,
      apply: (entries) => this.apply(entries),
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
      if (e instanceof NotLeaderError) throw new StoreError(e.leader === '' ? 'noLeader' : 'notLeader');
      if (e instanceof RaftStoppedError) throw new StoreError('stopped');
      throw e;
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
      if (!this.closed && !this.fatal) this.raft.compactLog(applied);
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
    const out = this.mvcc.range(r);
    return { header: this.header(out.revision), kvs: out.kvs, more: out.more, count: out.count };
  }

  async put(req: PutRequest): Promise<PutResponse> {
    const out = await this.propose({ op: 'put', req: normalizePut(req) });
    if (!('put' in out)) throw new Error('chainfire: unexpected apply outcome for put');
    const resp: PutResponse = { header: this.header(out.put.revision) };
    if (out.put.prevKv) resp.prevKv = out.put.prevKv;
    return resp;
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
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
    if (isTxnReadOnly(t)) return this.toTxnResponse(this.mvcc.readOnlyTxn(t));
    const out = await this.propose({ op: 'txn', req: t });
    if (!('txn' in out)) throw new Error('chainfire: unexpected apply outcome for txn');
    return this.toTxnResponse(out.txn);
  }

  async compact(revision: number, physical = false): Promise<CompactionResponse> {
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

  async leaseGrant(ttl: number, id?: string): Promise<LeaseGrantResponse> {
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

  async leaseRevoke(id: string): Promise<{ header: ResponseHeader }> {
    this.ensureOpen();
    const leaseId = canonicalLeaseId(String(id));
    if (leaseId === undefined || leaseId === '0') throw new StoreError('leaseNotFound');
    const out = await this.propose({ op: 'leaseRevoke', id: leaseId });
    if (!('leaseRevoke' in out)) throw new Error('chainfire: unexpected apply outcome for leaseRevoke');
    return { header: this.header(out.leaseRevoke.revision) };
  }

  async leaseKeepAlive(id: string): Promise<LeaseKeepAliveResponse> {
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

  async leaseTimeToLive(id: string, keys = false): Promise<LeaseTimeToLiveResponse> {
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
    return { header: this.header(this.mvcc.currentRevision), leases: this.mvcc.allLeases().map((l) => l.id) };
  }

  // ------------------------------------------------------------------ cluster

  private members(): Member[] {
    const id = this.identity;
    return [
      {
        id: id.memberId,
        name: id.name,
        peerUrls: [...id.peerUrls],
        clientUrls: [...id.clientUrls],
        isLearner: false,
      },
    ];
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
      isLearner: false,
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
    this.hub?.close();
    await this.raft?.close();
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
