/**
 * The I/O driver around `RaftCore`: a timer for ticks, the WAL for durability, and the Ready loop.
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
import type { Entry, HardState, InitialState, Message, NodeId, SnapshotMeta } from './core/types.js';
import { Wal } from './wal.js';
import type { WalOpenReport } from './wal.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';

export interface RaftNodeOptions<R> {
  /** Directory of the WAL segments. */
  walDir: string;
  id: NodeId;
  /** Voting members including this one; default: just this one. */
  voters?: NodeId[];
  /** What the state machine has durably or in-memory applied; replay starts after it. */
  applied: SnapshotMeta;
  /**
   * Apply committed entries in order, synchronously (one state-machine transaction per call is the
   * intended use) and return one result per entry; a proposal's promise resolves with its result.
   * Throwing is fatal: the node stops (the entry would fail again on every replay).
   */
  apply: (entries: Entry[]) => R[];
  /** Deliver messages to peers (unused with a single voter). */
  transport?: (messages: Message[]) => void;
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

interface Pending<R> {
  term: number;
  resolve: (r: R) => void;
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
    if (lastIndex === 0 && state.hardState.term === 0 && opts.applied.index === 0) {
      // A brand-new cluster, bootstrapped as etcd does: the initial membership becomes committed
      // conf-change entries of term 1, so the first election is for term 2 (etcd reports the same).
      const entries: Entry[] = voters.map((id, i) => ({
        term: 1,
        index: i + 1,
        type: 'confChange',
        data: encodeConfChange({ type: 'addNode', nodeId: id }),
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
    if (voters.length === 1 && !node.failed) {
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
    this.core.tick();
    if (this.core.hasReady()) this.kick();
  }

  /**
   * Replicate `data` and resolve with the state machine's result once applied. Rejects with
   * `NotLeaderError` on a follower and `RaftStoppedError` once closing or failed.
   */
  propose(data: Uint8Array): Promise<R> {
    if (this.failed) return Promise.reject(new RaftStoppedError(this.failed));
    if (this.closing) return Promise.reject(new RaftStoppedError());
    let pos: { index: number; term: number };
    try {
      pos = this.core.propose(data);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return new Promise<R>((resolve, reject) => {
      this.pending.set(pos.index, { term: pos.term, resolve, reject });
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
        if (rd.snapshot) {
          // Only a multi-voter cluster sends snapshots; this driver does not install them yet.
          throw new Error('raft: installing a leader snapshot is not supported by this driver');
        }
        let write: Promise<void> | undefined;
        const hs = rd.hardState ?? this.deferredHardState;
        if (rd.entries.length > 0 || rd.mustSync) {
          write = this.wal.save(hs, rd.entries, rd.mustSync);
          this.deferredHardState = undefined;
        } else if (rd.hardState) {
          this.deferredHardState = rd.hardState;
        }
        // Apply what is already committed while the new batch's fsync runs on the thread pool.
        if (rd.committedEntries.length > 0) this.applyCommitted(rd.committedEntries);
        if (write) await write;
        if (rd.messages.length > 0 && this.opts.transport) this.opts.transport(rd.messages);
        this.core.advance(rd);
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
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.log.error({ err: err.message }, 'raft: fatal error, node stopped');
    if (this.timer) clearInterval(this.timer);
    const stopped = new RaftStoppedError(err);
    for (const p of this.pending.values()) p.reject(stopped);
    this.pending.clear();
    this.opts.onFatal?.(err);
  }

  private waitIdle(): Promise<void> {
    if (!this.running && (!this.core.hasReady() || this.failed)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
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
    if (this.deferredHardState && !this.failed)
      await this.wal.save(this.deferredHardState, [], true).catch(() => undefined);
    await this.wal.close().catch(() => undefined);
  }
}
