/**
 * The I/O driver around `RaftCore`: a timer for ticks, the WAL for durability, and the Ready loop.
 * It runs a single voter (ChainFire's default) or one member of a multi-node cluster: peers' messages
 * come in through `step`, outgoing ones leave through `transport`, snapshots are taken from and
 * installed into the state machine through `takeSnapshot` / `installSnapshot`, and `readIndex`
 * gives linearizable reads.
 *
 * Loop, per Ready: start writing its entries + hard state to the WAL (one write, one fdatasync),
 * apply the committed entries of the previous round while that fsync is in flight, await the fsync,
 * hand messages to the transport, then `advance`. Proposals that arrive while an fsync is in flight
 * queue up in the core and all go out in the next batch: group commit, one fsync for many writes.
 * `propose()` resolves only once its entry is applied, i.e. after it was durable in the WAL.
 */
import { randomInt } from 'node:crypto';
import { NotLeaderError, RaftCore, seededRandom } from './core/raft-core.js';
import type { RaftCoreStatus } from './core/raft-core.js';
import { encodeConfChange } from './core/types.js';
import type {
  ConfState,
  Entry,
  HardState,
  InitialState,
  Message,
  NodeId,
  ReadState,
  Snapshot,
  SnapshotMeta,
} from './core/types.js';
import { Wal } from './wal.js';
import type { WalOpenReport } from './wal.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';

export interface RaftNodeOptions<R> {
  /** Directory of the WAL segments. */
  walDir: string;
  id: NodeId;
  /**
   * Bootstrap voters including this one; default: just this one. A node joining an existing
   * cluster passes `[]`: it learns the configuration from the leader's log or snapshot.
   */
  voters?: NodeId[];
  /**
   * Data of the bootstrap conf-change entry of each voter (default: just `{type: 'addNode', nodeId}`);
   * lets the state machine record members' metadata from the start. Every member of a cluster
   * bootstrapped with several voters must produce the same bytes (the entries are the same log).
   */
  bootstrapEntryData?: (id: NodeId) => Uint8Array;
  /**
   * What the state machine has durably or in-memory applied; replay starts after it. `conf`, when
   * known, is the membership as of that index (it survives log compaction in the state machine).
   */
  applied: SnapshotMeta;
  /**
   * Apply committed entries in order, synchronously (one state-machine transaction per call is the
   * intended use) and return one result per entry; a proposal's promise resolves with its result.
   * Throwing is fatal: the node stops (the entry would fail again on every replay).
   */
  apply: (entries: Entry[]) => R[];
  /** Deliver messages to peers (unused with a single voter). Must not throw; may drop. */
  transport?: (messages: Message[]) => void;
  /**
   * The state machine's full state at its applied index, for a follower that needs entries this
   * node compacted away. Called only when the state machine and Raft agree on the applied index.
   */
  takeSnapshot?: () => Uint8Array;
  /**
   * Replace the state machine with a snapshot from the leader, durably, before the log is reset
   * to it. Required for a member of a multi-node cluster.
   */
  installSnapshot?: (snapshot: Snapshot) => Promise<void>;
  /** Called when the known leader changes ("" = none). */
  onLeaderChange?: (lead: NodeId) => void;
  /**
   * How long a proposal or read may wait for a quorum before it fails with `RaftTimeoutError`
   * (default 5000 ms). A timed-out proposal may still commit later.
   */
  requestTimeoutMs?: number;
  /** Milliseconds per tick (default 100). */
  tickMs?: number;
  /** Ticks before an election (default 10, i.e. 1-2 s). */
  electionTick?: number;
  /** Ticks between heartbeats (default 1). */
  heartbeatTick?: number;
  /** Seed for election jitter; random by default. */
  seed?: number;
  /** WAL segment size in bytes. */
  segmentBytes?: number;
  logger?: Logger;
  /** Called once if the node stops on a fatal error (WAL write failed, apply threw). */
  onFatal?: (err: Error) => void;
}

/** Status of the node, for status endpoints. */
export interface RaftStatus extends RaftCoreStatus {
  walSegments: number;
  /** WAL fdatasyncs since open: one per persisted batch, however many entries it held. */
  walSyncs: number;
}

/** Thrown by `propose` once the node is closing or has failed. */
export class RaftStoppedError extends Error {
  constructor(cause?: Error) {
    super(
      cause ? `raft: stopped after fatal error: ${cause.message}` : 'raft: stopped',
      cause ? { cause } : undefined,
    );
    this.name = 'RaftStoppedError';
  }
}

/** A proposal or read waited longer than `requestTimeoutMs` (no quorum reachable). */
export class RaftTimeoutError extends Error {
  constructor(what: string) {
    super(`raft: ${what} timed out`);
    this.name = 'RaftTimeoutError';
  }
}

interface Pending<R> {
  term: number;
  deadline: number;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

interface ReadWaiter {
  deadline: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** One Raft member: WAL + core + loop. */
export class RaftNode<R> {
  private readonly core: RaftCore;
  private readonly wal: Wal;
  private readonly opts: RaftNodeOptions<R>;
  private readonly log: Logger;
  private readonly pending = new Map<number, Pending<R>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closing = false;
  private closed = false;
  private failed: Error | undefined;
  private idleWaiters: Array<() => void> = [];
  /** Reads waiting for the next ReadIndex round. */
  private readQueue: ReadWaiter[] = [];
  /** The ReadIndex round in flight: its context, the reads it serves and when it was asked. */
  private readInflight: { ctx: string; waiters: ReadWaiter[]; tick: number } | undefined;
  /** Reads with a known read index, waiting for the state machine to apply it. */
  private readApplyWait: Array<{ index: number; waiters: ReadWaiter[] }> = [];
  private readSeq = 0;
  private ticks = 0;
  private lastLead: NodeId = '';
  /** Cached `isSingleVoter()`; recomputed when the configuration may have changed. */
  private single: boolean | undefined;
  /**
   * A hard state whose only change was the commit index, not yet written: it rides along with the
   * next batch of entries instead of costing a write of its own (a lower commit index on disk is
   * harmless: it is recovered from the log and the state machine on restart).
   */
  private deferredHardState: HardState | undefined;
  /** What `open` found in the WAL. */
  readonly openReport: WalOpenReport;

  private constructor(opts: RaftNodeOptions<R>, core: RaftCore, wal: Wal, report: WalOpenReport) {
    this.opts = opts;
    this.core = core;
    this.wal = wal;
    this.log = opts.logger ?? silentLogger;
    this.openReport = report;
  }

  /**
   * Open the WAL, rebuild the log, elect this node when it is the only voter, and replay every
   * persisted entry the state machine has not applied yet. Resolves once that replay is applied.
   */
  static async open<R>(opts: RaftNodeOptions<R>): Promise<RaftNode<R>> {
    const { wal, state, report } = await Wal.open(opts.walDir, { segmentBytes: opts.segmentBytes });
    const log = opts.logger ?? silentLogger;
    if (report.truncatedBytes > 0) {
      log.warn({ walDir: opts.walDir, truncatedBytes: report.truncatedBytes }, 'wal: truncated a torn tail');
    }
    const lastIndex = state.snapshot.index + state.entries.length;
    if (opts.applied.index < state.snapshot.index) {
      await wal.close();
      throw new Error(
        `raft: state machine applied index ${opts.applied.index} is behind the WAL start ${state.snapshot.index}; entries are missing`,
      );
    }
    let initial: InitialState = state;
    const voters = opts.voters ?? [opts.id];
    if (opts.applied.conf && state.snapshot.index > 0) {
      // The WAL does not keep the configuration at its start; the state machine does.
      initial = { ...state, snapshot: { ...state.snapshot, conf: opts.applied.conf } };
    }
    if (lastIndex === 0 && state.hardState.term === 0 && opts.applied.index === 0 && voters.length > 0) {
      // A brand-new cluster, bootstrapped as etcd does: the initial membership becomes committed
      // conf-change entries of term 1, so the first election is for term 2 (etcd reports the same).
      const entries: Entry[] = voters.map((id, i) => ({
        term: 1,
        index: i + 1,
        type: 'confChange',
        data: opts.bootstrapEntryData?.(id) ?? encodeConfChange({ type: 'addNode', nodeId: id }),
      }));
      const hardState = { term: 1, vote: '', commit: entries.length };
      await wal.save(hardState, entries, true);
      initial = { hardState, snapshot: { index: 0, term: 0 }, entries };
    } else if (opts.applied.index > lastIndex) {
      // The state machine has entries the WAL lost (its tail was cut): continue the log after them.
      const hardState = {
        term: Math.max(state.hardState.term, opts.applied.term),
        vote: state.hardState.vote,
        commit: opts.applied.index,
      };
      log.warn(
        { applied: opts.applied.index, walLast: lastIndex },
        'raft: state machine ahead of the WAL; restarting the log after it',
      );
      await wal.resetTo(opts.applied, hardState);
      initial = { hardState, snapshot: { ...opts.applied }, entries: [] };
    }
    const electionTick = opts.electionTick ?? 10;
    const core = new RaftCore({
      id: opts.id,
      voters,
      electionTick,
      heartbeatTick: opts.heartbeatTick ?? 1,
      random: seededRandom(opts.seed ?? randomInt(0x7fffffff)),
      initial,
      applied: opts.applied.index,
    });
    const node = new RaftNode(opts, core, wal, report);
    // Apply what is known committed first: a node does not campaign while a committed membership
    // change (such as the bootstrap entries) is still unapplied.
    node.kick();
    await node.waitIdle();
    if (node.isSingleVoter() && !node.failed) {
      // Nobody else can lead: fast-forward logical time to the election instead of waiting 1-2 s
      // (etcd advances ticks the same way when a member starts).
      for (let i = 0; i < 2 * electionTick + 1 && core.status().role !== 'leader'; i++) core.tick();
      node.kick();
      await node.waitIdle();
    }
    if (node.failed) throw node.failed;
    node.timer = setInterval(() => node.onTick(), opts.tickMs ?? 100);
    node.timer.unref();
    return node;
  }

  private onTick(): void {
    if (this.closed || this.failed) return;
    this.ticks++;
    this.core.tick();
    this.sweepDeadlines();
    if (this.readInflight && this.ticks - this.readInflight.tick > 5) {
      // The request or its answer was lost (leader change, dropped message): ask again.
      this.readQueue.unshift(...this.readInflight.waiters);
      this.readInflight = undefined;
    }
    this.maybeRequestRead();
    if (this.core.hasReady()) this.kick();
  }

  private requestTimeoutMs(): number {
    return this.opts.requestTimeoutMs ?? 5000;
  }

  /** Fail proposals and reads that waited too long (only possible without a quorum). */
  private sweepDeadlines(): void {
    const t = performance.now();
    if (this.pending.size > 0) {
      for (const [index, p] of this.pending) {
        if (p.deadline > t) continue;
        this.pending.delete(index);
        p.reject(new RaftTimeoutError('proposal'));
      }
    }
    const expired = (w: ReadWaiter): boolean => {
      if (w.deadline > t) return false;
      w.reject(new RaftTimeoutError('read'));
      return true;
    };
    if (this.readQueue.length > 0) this.readQueue = this.readQueue.filter((w) => !expired(w));
    if (this.readInflight) this.readInflight.waiters = this.readInflight.waiters.filter((w) => !expired(w));
    for (const r of this.readApplyWait) r.waiters = r.waiters.filter((w) => !expired(w));
  }

  /**
   * Resolve once a linearizable read may be served from the local state machine: the leader
   * confirmed its leadership with a quorum after the call, and this node applied at least the
   * commit index it reported. Reads arriving together share one round. Immediate on a single voter.
   */
  readIndex(): Promise<void> {
    if (this.failed) return Promise.reject(new RaftStoppedError(this.failed));
    if (this.closing) return Promise.reject(new RaftStoppedError());
    if (this.isSingleVoter() && this.isLeader()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.readQueue.push({ deadline: performance.now() + this.requestTimeoutMs(), resolve, reject });
      this.maybeRequestRead();
    });
  }

  private maybeRequestRead(): void {
    if (this.readInflight || this.readQueue.length === 0 || this.closed || this.failed) return;
    const ctx = `${this.opts.id}/${++this.readSeq}`;
    if (!this.core.readIndex(ctx)) return; // no known leader: retried on the next tick
    this.readInflight = { ctx, waiters: this.readQueue, tick: this.ticks };
    this.readQueue = [];
    this.kick();
  }

  private onReadStates(states: ReadState[]): void {
    for (const rs of states) {
      if (!this.readInflight || rs.context !== this.readInflight.ctx) continue;
      const waiters = this.readInflight.waiters;
      this.readInflight = undefined;
      if (this.core.status().applied >= rs.index) for (const w of waiters) w.resolve();
      else this.readApplyWait.push({ index: rs.index, waiters });
    }
    this.maybeRequestRead();
  }

  private releaseReads(applied: number): void {
    if (this.readApplyWait.length === 0) return;
    const keep: Array<{ index: number; waiters: ReadWaiter[] }> = [];
    for (const r of this.readApplyWait) {
      if (r.index <= applied) for (const w of r.waiters) w.resolve();
      else keep.push(r);
    }
    this.readApplyWait = keep;
  }

  /**
   * Replicate `data` and resolve with the state machine's result once applied. Rejects with
   * `NotLeaderError` on a follower and `RaftStoppedError` once closing or failed.
   */
  propose(data: Uint8Array): Promise<R> {
    return this.proposeEntry(data, 'normal');
  }

  /**
   * Propose a membership change. `data` is a JSON object with at least `type` and `nodeId` (see
   * `ConfChange`); extra fields (member metadata) reach the state machine untouched.
   */
  proposeConfChange(data: Uint8Array): Promise<R> {
    return this.proposeEntry(data, 'confChange');
  }

  private proposeEntry(data: Uint8Array, type: 'normal' | 'confChange'): Promise<R> {
    if (this.failed) return Promise.reject(new RaftStoppedError(this.failed));
    if (this.closing) return Promise.reject(new RaftStoppedError());
    let pos: { index: number; term: number };
    try {
      pos = this.core.propose(data, type);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return new Promise<R>((resolve, reject) => {
      this.pending.set(pos.index, {
        term: pos.term,
        deadline: performance.now() + this.requestTimeoutMs(),
        resolve,
        reject,
      });
      this.kick();
    });
  }

  /** Feed a message from a peer. */
  step(m: Message): void {
    if (this.closed || this.failed) return;
    this.core.step(m);
    this.kick();
  }

  private kick(): void {
    if (this.running || this.failed || this.closed) return;
    this.running = true;
    // setImmediate, not a microtask: proposals made in the same turn join this first batch.
    setImmediate(() => void this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (this.core.hasReady() && !this.failed) {
        const rd = this.core.ready();
        if (rd.snapshot) await this.restoreSnapshot(rd.snapshot, rd.hardState);
        let write: Promise<void> | undefined;
        const hs = rd.hardState ?? this.deferredHardState;
        if (rd.entries.length > 0 || rd.mustSync) {
          write = this.wal.save(hs, rd.entries, rd.mustSync);
          this.deferredHardState = undefined;
        } else if (rd.hardState) {
          this.deferredHardState = rd.hardState;
        }
        let snaps: Message[] | undefined;
        let later: Message[] = [];
        if (rd.messages.length > 0 && this.opts.transport) {
          const early: Message[] = [];
          for (const m of rd.messages) {
            if (m.type === 'snapshot') (snaps ??= []).push(m);
            // A leader's appends and heartbeats may go out while its own fsync runs (Raft thesis
            // §10.2.1): it counts itself toward a quorum only once its entries are stable.
            else if (m.type === 'append' || m.type === 'heartbeat') early.push(m);
            else later.push(m);
          }
          if (early.length > 0) this.opts.transport(early);
        }
        // Apply what is already committed while the new batch's fsync runs on the thread pool.
        if (rd.committedEntries.length > 0) this.applyCommitted(rd.committedEntries);
        if (write) await write;
        if (later.length > 0) this.opts.transport!(later);
        later = [];
        this.core.advance(rd);
        if (rd.snapshot || rd.committedEntries.some((e) => e.type === 'confChange')) this.single = undefined;
        if (snaps) this.sendSnapshots(snaps);
        if (rd.readStates.length > 0) this.onReadStates(rd.readStates);
        if (rd.softState && rd.softState.lead !== this.lastLead) {
          this.lastLead = rd.softState.lead;
          this.opts.onLeaderChange?.(rd.softState.lead);
        }
      }
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.running = false;
      if (!this.core.hasReady() || this.failed) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      } else {
        this.kick();
      }
    }
  }

  /**
   * A snapshot from the leader: the state machine takes it durably first, then the WAL restarts
   * after it (a crash in between leaves the state machine ahead of the WAL, which `open` handles).
   */
  private async restoreSnapshot(snap: Snapshot, hs: HardState | undefined): Promise<void> {
    if (!this.opts.installSnapshot) throw new Error('raft: received a snapshot but cannot install one');
    await this.opts.installSnapshot(snap);
    const st = this.core.status();
    const hard = hs ?? { term: st.term, vote: st.vote, commit: Math.max(st.commit, snap.meta.index) };
    await this.wal.resetTo(snap.meta, hard);
    this.deferredHardState = undefined;
    // Proposals at or below the snapshot may or may not be in it (committed by the new leader, or
    // overwritten): their outcome is unknown, which is what a timeout says.
    for (const [index, p] of this.pending) {
      if (index > snap.meta.index) continue;
      this.pending.delete(index);
      p.reject(new RaftTimeoutError('proposal (superseded by a snapshot; outcome unknown)'));
    }
    this.releaseReads(snap.meta.index);
  }

  /**
   * The core asked for a snapshot to be sent: send the state machine as of now (at or after the
   * compaction point the core had in mind), with the matching term and configuration.
   */
  private sendSnapshots(msgs: Message[]): void {
    if (!this.opts.takeSnapshot || !this.opts.transport) return;
    const st = this.core.status();
    const term = this.core.log.term(st.applied);
    if (term === undefined) return; // retried by the core after an election timeout
    const conf: ConfState = { voters: st.voters, learners: st.learners };
    const data = this.opts.takeSnapshot();
    this.opts.transport(
      msgs.map((m) => ({ ...m, snapshot: { meta: { index: st.applied, term, conf }, data } }) as Message),
    );
  }

  private applyCommitted(entries: Entry[]): void {
    const results = this.opts.apply(entries);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const p = this.pending.get(e.index);
      if (!p) continue;
      this.pending.delete(e.index);
      if (p.term === e.term) p.resolve(results[i] as R);
      else p.reject(new NotLeaderError(this.core.status().lead));
    }
    const last = entries[entries.length - 1];
    if (last) this.releaseReads(last.index);
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.log.error({ err: err.message }, 'raft: fatal error, node stopped');
    if (this.timer) clearInterval(this.timer);
    const stopped = new RaftStoppedError(err);
    for (const p of this.pending.values()) p.reject(stopped);
    this.pending.clear();
    this.rejectReads(stopped);
    this.opts.onFatal?.(err);
  }

  private waitIdle(): Promise<void> {
    if (!this.running && (!this.core.hasReady() || this.failed)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private rejectReads(err: Error): void {
    const all = [
      ...this.readQueue,
      ...(this.readInflight?.waiters ?? []),
      ...this.readApplyWait.flatMap((r) => r.waiters),
    ];
    this.readQueue = [];
    this.readInflight = undefined;
    this.readApplyWait = [];
    for (const w of all) w.reject(err);
  }

  /** Whether this node is the only voter (reads and writes need nobody else). */
  isSingleVoter(): boolean {
    if (this.single === undefined) {
      const conf = this.core.confState();
      this.single = conf.voters.length === 1 && conf.voters[0] === this.opts.id;
    }
    return this.single;
  }

  /** The current leader ("" when unknown). */
  leader(): NodeId {
    return this.core.status().lead;
  }

  /** Replication progress of every peer (leader only; empty elsewhere). */
  progress(): ReturnType<RaftCore['progress']> {
    return this.core.progress();
  }

  /** Hand leadership to `to` (leader only). */
  transferLeadership(to: NodeId): void {
    this.core.transferLeadership(to);
    this.kick();
  }

  /** Whether this node leads (always true for a healthy single voter). */
  isLeader(): boolean {
    return this.core.status().role === 'leader';
  }

  /** The fatal error that stopped the node, if any. */
  fatalError(): Error | undefined {
    return this.failed;
  }

  /** Current term (cheap; for response headers). */
  term(): number {
    return this.core.currentTerm();
  }

  status(): RaftStatus {
    return { ...this.core.status(), walSegments: this.wal.segmentFiles().length, walSyncs: this.wal.syncs };
  }

  /**
   * The state machine made everything up to `index` durable: drop those entries from memory and
   * whole WAL segments at or below it.
   */
  compactLog(index: number): void {
    const st = this.core.status();
    const upTo = Math.min(index, st.applied, st.stableIndex);
    if (upTo <= st.snapshotIndex) return;
    this.core.compact(upTo);
    this.wal.compact(upTo);
  }

  /** WAL segment files, oldest first. */
  walSegments(): string[] {
    return this.wal.segmentFiles();
  }

  /**
   * Stop: refuse new proposals, let accepted ones finish (persist + apply), then close the WAL.
   * Proposals still unresolved after that are rejected.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    if (!this.failed) {
      this.kick();
      await this.waitIdle();
    }
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new RaftStoppedError());
    this.pending.clear();
    this.rejectReads(new RaftStoppedError());
    if (this.deferredHardState && !this.failed)
      await this.wal.save(this.deferredHardState, [], true).catch(() => undefined);
    await this.wal.close().catch(() => undefined);
  }
}
