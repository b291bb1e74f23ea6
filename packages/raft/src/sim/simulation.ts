/**
 * Deterministic simulation of a Raft cluster running a KV store, driven by one seed.
 *
 * Everything is simulated and pure: time is an event queue, the network delays, drops, duplicates
 * and reorders messages and splits into partitions, nodes crash and restart, and each node has a
 * disk that only keeps what was fsynced. The driver follows the Ready contract exactly: take a
 * Ready, fsync its snapshot + hard state + entries (which takes simulated time), then send its
 * messages, apply, and `advance`. A crash before the fsync completes loses that Ready's writes (or,
 * by chance, the write had reached the disk anyway: both outcomes are legal). Membership changes
 * (learners added, promoted, nodes removed) and leadership transfers happen at random, and the
 * application compacts its log, so lagging followers get snapshots.
 *
 * Clients issue put/get operations (gets through ReadIndex) with timeouts and retries, and the
 * history of invocations and returns is checked for linearizability at the end. Raft's safety
 * invariants are checked after every step (see invariants.ts).
 */
import { NotLeaderError, ProposalDroppedError, RaftCore, seededRandom } from '../core/raft-core.js';
import { applyConfChange, decodeConfChange, encodeConfChange } from '../core/types.js';
import type { ConfState, Entry, HardState, Message, NodeId, Ready, Snapshot } from '../core/types.js';
import { EventQueue } from './event-queue.js';
import { InvariantChecker } from './invariants.js';
import type { DurableView } from './invariants.js';
import { KvStateMachine, encodePut } from './kv.js';
import { checkLinearizable, kvModel } from './linearizability.js';
import type { KvInput, KvOutput, Operation } from './linearizability.js';
import { Rng } from './rng.js';

/** Knobs of one simulation run (all but `seed` have defaults). */
export interface SimOptions {
  seed: number;
  /** Initial voters (3 or 5 in the standard runs). */
  nodes: number;
  /** Simulated milliseconds of chaos (faults + client load); a calm period follows. */
  durationMs?: number;
  /** Simulated milliseconds at the end with faults healed, for clients to finish. */
  calmMs?: number;
  clients?: number;
  keys?: number;
  /** Disable all fault injection (partitions, crashes, drops, membership changes, transfers). */
  noFaults?: boolean;
  /** Called with a line per notable event (for replaying a failing seed with --verbose). */
  trace?: (line: string) => void;
}

/** Counters of what happened during a run. */
export interface SimStats {
  steps: number;
  messages: number;
  dropped: number;
  crashes: number;
  pauses: number;
  partitions: number;
  confChanges: number;
  transfers: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  compactions: number;
  leaderTerms: number;
  committedIndex: number;
  invariantChecks: number;
}

/** The outcome of one seed. */
export interface SimResult {
  seed: number;
  nodes: number;
  violations: string[];
  linearizable: 'ok' | 'illegal' | 'unknown';
  /** Operations in the checked history (completed + pending writes). */
  opsChecked: number;
  opsCompleted: number;
  opsPending: number;
  stats: SimStats;
  /** Liveness problems (not safety violations): e.g. no progress after the calm period. */
  warnings: string[];
  /** Simulated time at the end. */
  simTime: number;
}

const TICK_MS = 10;
const ELECTION_TICK = 10;
const HEARTBEAT_TICK = 1;
const CLIENT_TIMEOUT_MS = 120;

interface Disk {
  hardState: HardState;
  snapshot: Snapshot;
  entries: Entry[];
}

type Reply = { ok: true; value?: string | null } | { ok: false; leader: NodeId };

interface Request {
  client: number;
  seq: number;
  attempt: number;
  kind: 'put' | 'get';
  key: string;
  value?: string;
}

class SimNode {
  core: RaftCore | undefined;
  readonly kv = new KvStateMachine();
  incarnation = 0;
  inflight: Ready | undefined;
  removed = false;
  /** A process pause (GC, VM stall): nothing runs on the node until then. */
  pausedUntil = 0;
  /** This node's tick period: clocks drift apart a little. */
  tickMs = TICK_MS;
  proposals = new Map<number, { term: number; req: Request }>();
  reads = new Map<string, Request>();
  readWaits: Array<{ index: number; req: Request }> = [];

  constructor(
    readonly id: NodeId,
    readonly disk: Disk,
    readonly bootstrapVoters: NodeId[],
  ) {}
}

interface ClientState {
  id: number;
  seq: number;
  target: NodeId;
  op: { req: Request; hist: Operation<KvInput, KvOutput> } | undefined;
  done: boolean;
}

function emptyDisk(): Disk {
  return {
    hardState: { term: 0, vote: '', commit: 0 },
    snapshot: { meta: { index: 0, term: 0 }, data: new Uint8Array(0) },
    entries: [],
  };
}

/** Cluster size for a seed: odd seeds 3 nodes, even seeds 5 (unless forced). */
export function nodesForSeed(seed: number, forced?: number): number {
  return forced ?? (seed % 2 === 1 ? 3 : 5);
}

/** Run one seed and return what happened, including every invariant violation found. */
export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

class Simulation {
  private readonly rng: Rng;
  private readonly q = new EventQueue();
  private readonly inv = new InvariantChecker();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly clients: ClientState[] = [];
  private readonly history: Array<Operation<KvInput, KvOutput>> = [];
  private readonly keys: string[];
  private readonly duration: number;
  private readonly calm: number;
  private readonly faults: boolean;
  private readonly trace: ((line: string) => void) | undefined;
  private conf: ConfState;
  private appliedConfIndex = 0;
  private nextNodeId: number;
  private partition: Map<NodeId, number> | undefined;
  private chaos = true;
  // Per-seed network and storage character.
  private readonly dropRate: number;
  private readonly dupRate: number;
  private readonly maxDelay: number;
  private readonly maxFsync: number;
  private readonly compactEvery: number;
  private readonly maxEntriesPerAppend: number;
  private readonly maxInflight: number;
  private readonly stats: SimStats = {
    steps: 0,
    messages: 0,
    dropped: 0,
    crashes: 0,
    pauses: 0,
    partitions: 0,
    confChanges: 0,
    transfers: 0,
    snapshotsSent: 0,
    snapshotsInstalled: 0,
    compactions: 0,
    leaderTerms: 0,
    committedIndex: 0,
    invariantChecks: 0,
  };
  private exception: string | undefined;

  constructor(private readonly opts: SimOptions) {
    this.rng = new Rng(opts.seed * 2654435761 + 12345);
    this.duration = opts.durationMs ?? 3000;
    this.calm = opts.calmMs ?? 1500;
    this.faults = !opts.noFaults;
    this.trace = opts.trace;
    this.keys = Array.from({ length: opts.keys ?? 3 }, (_, i) => `k${i}`);
    const r = this.rng;
    this.dropRate = this.faults ? r.pick([0, 0.01, 0.03, 0.08]) : 0;
    this.dupRate = this.faults ? r.pick([0, 0, 0.02]) : 0;
    this.maxDelay = r.pick([2, 5, 15, 30]);
    this.maxFsync = r.pick([0, 1, 3, 8]);
    this.compactEvery = r.pick([6, 15, 40, 100000]);
    this.maxEntriesPerAppend = r.pick([1, 4, 64]);
    this.maxInflight = r.pick([1, 4, 32]);
    const ids = Array.from({ length: opts.nodes }, (_, i) => String(i + 1));
    this.conf = { voters: [...ids], learners: [] };
    this.nextNodeId = opts.nodes + 1;
    for (const id of ids) {
      // Bootstrapped as RaftNode does: the membership is the committed first entries, of term 1.
      const entries: Entry[] = ids.map((v, i) => ({
        term: 1,
        index: i + 1,
        type: 'confChange',
        data: encodeConfChange({ type: 'addNode', nodeId: v }),
      }));
      const disk: Disk = { ...emptyDisk(), hardState: { term: 1, vote: '', commit: ids.length }, entries };
      this.nodes.set(id, new SimNode(id, disk, ids));
    }
    for (let c = 0; c < (opts.clients ?? 4); c++) {
      this.clients.push({ id: c + 1, seq: 0, target: this.rng.pick(ids), op: undefined, done: false });
    }
  }

  private log(line: string): void {
    this.trace?.(`[${String(this.q.now).padStart(6)}] ${line}`);
  }

  run(): SimResult {
    for (const n of this.nodes.values()) this.start(n);
    for (const c of this.clients) this.q.push(this.rng.int(50, 300), () => this.startOp(c));
    if (this.faults) this.q.push(this.rng.int(50, 200), () => this.nemesis());
    this.q.push(this.duration, () => this.endChaos());
    const end = this.duration + this.calm;
    try {
      while (this.q.runNext(end)) {
        this.stats.steps++;
        this.checkStep();
        if (this.inv.violations.length > 0) break;
      }
    } catch (e) {
      this.exception = e instanceof Error ? (e.stack ?? e.message) : String(e);
    }
    const live = this.liveCores();
    if (this.inv.violations.length === 0 && !this.exception) this.inv.finalLogCheck(live, this.q.now);
    const violations = [...this.inv.violations];
    if (this.exception) violations.push(`exception: ${this.exception}`);
    // Linearizability of the client history (reads that never returned constrain nothing).
    const checked = this.history.filter((h) => h.ret !== Infinity || h.input.kind === 'put');
    const lin = checkLinearizable(kvModel, checked);
    if (lin.result === 'illegal') {
      violations.push(
        `linearizability: history of key ${this.keys[lin.failedPartition ?? 0] ?? '?'} has no linearization`,
      );
    }
    const warnings: string[] = [];
    if (lin.result === 'unknown') warnings.push('linearizability check ran out of budget');
    const completed = this.history.filter((h) => h.ret !== Infinity).length;
    if (violations.length === 0) {
      const leaders = live.filter((n) => n.core.status().role === 'leader');
      if (leaders.length !== 1) warnings.push(`no single leader after the calm period (${leaders.length})`);
      if (completed === 0) warnings.push('no client operation completed');
    }
    this.stats.leaderTerms = this.inv.leaderTerms();
    this.stats.committedIndex = this.inv.committedIndex();
    this.stats.invariantChecks = this.inv.checks;
    return {
      seed: this.opts.seed,
      nodes: this.opts.nodes,
      violations,
      linearizable: lin.result,
      opsChecked: checked.length,
      opsCompleted: completed,
      opsPending: this.history.length - completed,
      stats: this.stats,
      warnings,
      simTime: this.q.now,
    };
  }

  // ------------------------------------------------------------------ invariants

  private liveCores(): Array<{ id: NodeId; core: RaftCore }> {
    const out: Array<{ id: NodeId; core: RaftCore }> = [];
    for (const n of this.nodes.values()) if (n.core) out.push({ id: n.id, core: n.core });
    return out;
  }

  private checkStep(): void {
    const disks = new Map<NodeId, DurableView>();
    for (const n of this.nodes.values()) disks.set(n.id, n.disk);
    this.inv.afterStep(this.liveCores(), disks, this.conf, this.q.now);
  }

  // ------------------------------------------------------------------ node lifecycle

  private start(n: SimNode): void {
    const d = n.disk;
    n.incarnation++;
    n.tickMs = this.faults ? this.rng.int(TICK_MS - 2, TICK_MS + 2) : TICK_MS;
    n.core = new RaftCore({
      id: n.id,
      voters: n.bootstrapVoters,
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      random: seededRandom(this.rng.fork()),
      initial: {
        hardState: { ...d.hardState },
        snapshot: d.snapshot.meta,
        entries: [...d.entries],
        snapshotData: d.snapshot.data,
      },
      applied: d.snapshot.meta.index,
      maxEntriesPerAppend: this.maxEntriesPerAppend,
      maxBytesPerAppend: 400,
      maxInflight: this.maxInflight,
    });
    n.kv.restore(d.snapshot.meta.index, d.snapshot.data);
    const inc = n.incarnation;
    this.q.push(this.q.now + this.rng.int(1, TICK_MS), () => this.tick(n, inc));
    this.pump(n);
  }

  /** If `n` is paused, re-run `fn` when it resumes and return true. */
  private deferIfPaused(n: SimNode, fn: () => void): boolean {
    if (n.pausedUntil <= this.q.now) return false;
    this.q.push(n.pausedUntil, fn);
    return true;
  }

  private tick(n: SimNode, inc: number): void {
    if (n.incarnation !== inc || !n.core) return;
    if (this.deferIfPaused(n, () => this.tick(n, inc))) return;
    n.core.tick();
    this.pump(n);
    this.q.push(this.q.now + n.tickMs, () => this.tick(n, inc));
  }

  private crash(n: SimNode, permanent: boolean): void {
    if (!n.core) return;
    this.log(`node ${n.id} crashes${permanent ? ' (removed: shut down)' : ''}`);
    this.stats.crashes++;
    if (n.inflight && this.rng.chance(0.5)) {
      // The un-fsynced write happened to reach the disk before the crash.
      this.persist(n, n.inflight);
    }
    n.inflight = undefined;
    n.core = undefined;
    n.incarnation++;
    n.proposals.clear();
    n.reads.clear();
    n.readWaits = [];
    this.inv.onCrash(n.id);
    if (!permanent) {
      const inc = n.incarnation;
      this.q.push(this.q.now + this.rng.int(10, 600), () => {
        if (n.incarnation !== inc || n.removed) return;
        this.log(
          `node ${n.id} restarts (term ${n.disk.hardState.term}, log ${n.disk.snapshot.meta.index}+${n.disk.entries.length})`,
        );
        this.start(n);
      });
    }
  }

  // ------------------------------------------------------------------ the Ready loop

  private pump(n: SimNode): void {
    const core = n.core;
    if (!core || n.inflight || !core.hasReady()) return;
    const rd = core.ready();
    this.inv.onReady(n.id, core, rd, this.q.now);
    if (rd.softState)
      this.log(
        `node ${n.id} is ${rd.softState.role} (lead ${rd.softState.lead || '-'}) term ${core.currentTerm()}`,
      );
    n.inflight = rd;
    const inc = n.incarnation;
    this.q.push(this.q.now + this.rng.int(0, this.maxFsync), () => this.completeReady(n, inc, rd));
  }

  private persist(n: SimNode, rd: Ready): void {
    const d = n.disk;
    if (rd.snapshot) {
      d.snapshot = rd.snapshot;
      d.entries = [];
    }
    if (rd.hardState) d.hardState = { ...rd.hardState };
    const first = rd.entries[0];
    if (first) {
      const keep = d.entries.filter((e) => e.index < first.index);
      const lastKept = keep.length > 0 ? keep[keep.length - 1]!.index : d.snapshot.meta.index;
      if (lastKept !== first.index - 1) {
        throw new Error(`disk ${n.id}: entries from ${first.index} do not continue the log at ${lastKept}`);
      }
      d.entries = keep.concat(rd.entries);
    }
    this.inv.onDurable(n.id, d.hardState, this.q.now);
  }

  private completeReady(n: SimNode, inc: number, rd: Ready): void {
    if (n.incarnation !== inc || !n.core || n.inflight !== rd) return;
    if (this.deferIfPaused(n, () => this.completeReady(n, inc, rd))) return;
    const core = n.core;
    this.persist(n, rd); // the fsync completed
    for (const m of rd.messages) this.send(m);
    if (rd.snapshot) {
      this.stats.snapshotsInstalled++;
      this.log(`node ${n.id} installs snapshot at ${rd.snapshot.meta.index}`);
      n.kv.restore(rd.snapshot.meta.index, rd.snapshot.data);
      for (const [index, p] of n.proposals) {
        if (index <= rd.snapshot.meta.index) {
          n.proposals.delete(index);
          this.reply(n, p.req, { ok: false, leader: '' });
        }
      }
    }
    for (const e of rd.committedEntries) {
      if (e.index <= n.kv.applied) continue; // superseded by a snapshot
      this.inv.onApply(n.id, e, this.q.now);
      if (e.type === 'normal') n.kv.apply(e.index, e.data);
      else {
        n.kv.skip(e.index);
        this.onConfApplied(e);
      }
      const p = n.proposals.get(e.index);
      if (p) {
        n.proposals.delete(e.index);
        this.reply(n, p.req, p.term === e.term ? { ok: true } : { ok: false, leader: core.status().lead });
      }
    }
    core.advance(rd);
    n.inflight = undefined;
    for (const rs of rd.readStates) {
      const req = n.reads.get(rs.context);
      if (!req) continue;
      n.reads.delete(rs.context);
      n.readWaits.push({ index: rs.index, req });
    }
    if (n.readWaits.length > 0) {
      const waiting: typeof n.readWaits = [];
      for (const w of n.readWaits) {
        if (n.kv.applied >= w.index) this.reply(n, w.req, { ok: true, value: n.kv.get(w.req.key) });
        else waiting.push(w);
      }
      n.readWaits = waiting;
    }
    this.maybeCompact(n);
    this.pump(n);
  }

  private maybeCompact(n: SimNode): void {
    const core = n.core!;
    if (n.kv.applied - n.disk.snapshot.meta.index < this.compactEvery) return;
    const st = core.status();
    // The core is ahead while a received snapshot waits in the next Ready: compact after it.
    if (st.applied > n.kv.applied) return;
    if (st.applied !== n.kv.applied)
      throw new Error(`node ${n.id}: core applied ${st.applied} != kv ${n.kv.applied}`);
    core.compact(n.kv.applied, n.kv.snapshot());
    // The application writes its snapshot durably, then drops the log before it.
    n.disk.snapshot = core.snapshot();
    n.disk.entries = n.disk.entries.filter((e) => e.index > n.kv.applied);
    this.stats.compactions++;
  }

  private onConfApplied(e: Entry): void {
    if (e.index <= this.appliedConfIndex) return;
    this.appliedConfIndex = e.index;
    const cc = decodeConfChange(e.data);
    this.conf = applyConfChange(this.conf, cc);
    this.log(
      `conf change applied at ${e.index}: ${cc.type} ${cc.nodeId} -> voters [${this.conf.voters}] learners [${this.conf.learners}]`,
    );
    if (cc.type === 'removeNode') {
      const gone = this.nodes.get(cc.nodeId);
      if (gone && !gone.removed) {
        // A removed member shuts down (and its peers stop talking to it), as an etcd member does.
        gone.removed = true;
        this.q.push(this.q.now + 1, () => this.crash(gone, true));
      }
    }
  }

  // ------------------------------------------------------------------ network

  private cut(a: NodeId, b: NodeId): boolean {
    if (!this.partition) return false;
    return (this.partition.get(a) ?? 0) !== (this.partition.get(b) ?? 0);
  }

  private send(m: Message): void {
    this.stats.messages++;
    if (m.type === 'snapshot') this.stats.snapshotsSent++;
    const copies = this.rng.chance(this.dupRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (this.cut(m.from, m.to) || this.rng.chance(this.dropRate)) {
        this.stats.dropped++;
        continue;
      }
      this.q.push(this.q.now + this.rng.int(1, this.maxDelay), () => this.deliver(m));
    }
  }

  private deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    const from = this.nodes.get(m.from);
    if (!to?.core || !from || to.removed || from.removed || this.cut(m.from, m.to)) {
      this.stats.dropped++;
      return;
    }
    if (this.deferIfPaused(to, () => this.deliver(m))) return;
    to.core.step(m);
    this.pump(to);
  }

  // ------------------------------------------------------------------ clients

  private members(): NodeId[] {
    return [...this.conf.voters, ...this.conf.learners];
  }

  private startOp(c: ClientState): void {
    if (!this.chaos && this.q.now > this.duration + this.calm / 2) {
      c.done = true;
      return;
    }
    c.seq++;
    const kind = this.rng.chance(0.5) ? 'put' : 'get';
    const key = this.rng.pick(this.keys);
    const req: Request = { client: c.id, seq: c.seq, attempt: 0, kind, key };
    if (kind === 'put') req.value = `c${c.id}.${c.seq}`;
    const hist: Operation<KvInput, KvOutput> = {
      clientId: c.id,
      input: kind === 'put' ? { kind, key, value: req.value! } : { kind, key },
      output: {},
      call: this.q.now,
      ret: Infinity,
    };
    this.history.push(hist);
    c.op = { req, hist };
    this.attempt(c);
  }

  private attempt(c: ClientState): void {
    const op = c.op;
    if (!op) return;
    op.req.attempt++;
    const req = { ...op.req };
    const target = this.nodes.get(c.target);
    if (!target || target.removed) c.target = this.rng.pick(this.members());
    // Mostly the believed leader; sometimes any member (a follower forwards reads to its leader).
    const to = this.rng.chance(0.3) ? this.rng.pick(this.members()) : c.target;
    if (!this.rng.chance(this.dropRate)) {
      this.q.push(this.q.now + this.rng.int(1, this.maxDelay), () => this.onRequest(to, req));
    }
    this.q.push(this.q.now + CLIENT_TIMEOUT_MS, () => {
      if (c.op === op && op.req.attempt === req.attempt) {
        c.target = this.rng.pick(this.members());
        this.attempt(c);
      }
    });
  }

  private onRequest(id: NodeId, req: Request): void {
    const n = this.nodes.get(id);
    const core = n?.core;
    if (!n || !core || n.removed) return; // lost: the client times out
    if (this.deferIfPaused(n, () => this.onRequest(id, req))) return;
    if (req.kind === 'put') {
      try {
        const pos = core.propose(
          encodePut({ client: req.client, seq: req.seq, key: req.key, value: req.value! }),
        );
        n.proposals.set(pos.index, { term: pos.term, req });
      } catch (e) {
        if (!(e instanceof NotLeaderError || e instanceof ProposalDroppedError)) throw e;
        this.reply(n, req, { ok: false, leader: core.status().lead });
      }
    } else {
      const ctx = `${req.client}/${req.seq}/${req.attempt}`;
      if (core.readIndex(ctx)) n.reads.set(ctx, req);
      else this.reply(n, req, { ok: false, leader: core.status().lead });
    }
    this.pump(n);
  }

  private reply(_n: SimNode, req: Request, r: Reply): void {
    if (this.rng.chance(this.dropRate)) return;
    this.q.push(this.q.now + this.rng.int(1, this.maxDelay), () => this.onReply(req, r));
  }

  private onReply(req: Request, r: Reply): void {
    const c = this.clients[req.client - 1]!;
    const op = c.op;
    // Any attempt's success answers the operation (writes are deduplicated by sequence number).
    if (!op || op.req.seq !== req.seq) return;
    if (r.ok) {
      op.hist.ret = this.q.now;
      if (req.kind === 'get') op.hist.output = { value: r.value ?? null };
      c.op = undefined;
      this.q.push(this.q.now + this.rng.int(0, 10), () => this.startOp(c));
      return;
    }
    if (op.req.attempt !== req.attempt) return;
    c.target = r.leader !== '' && this.rng.chance(0.8) ? r.leader : this.rng.pick(this.members());
    const attemptNo = req.attempt;
    this.q.push(this.q.now + this.rng.int(5, 20), () => {
      if (c.op === op && op.req.attempt === attemptNo) this.attempt(c);
    });
  }

  // ------------------------------------------------------------------ faults

  private endChaos(): void {
    this.chaos = false;
    this.partition = undefined;
    this.log('chaos ends: partitions healed, crashed nodes restart');
    for (const n of this.nodes.values()) {
      if (!n.core && !n.removed) this.start(n);
    }
  }

  private upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.core && !n.removed);
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.upNodes()) {
      const st = n.core!.status();
      if (st.role === 'leader' && (!best || st.term > best.core!.currentTerm())) best = n;
    }
    return best;
  }

  private nemesis(): void {
    if (!this.chaos) return;
    this.q.push(this.q.now + this.rng.int(30, 250), () => this.nemesis());
    const roll = this.rng.float();
    if (roll < 0.25) this.partitionOrHeal();
    else if (roll < 0.4) this.crashSomeone();
    else if (roll < 0.45) this.pauseSomeone();
    else if (roll < 0.65) this.changeMembership();
    else if (roll < 0.75) this.transfer();
  }

  private partitionOrHeal(): void {
    if (this.partition) {
      this.partition = undefined;
      this.log('partition healed');
      return;
    }
    const ids = [...this.nodes.keys()];
    const side = new Map<NodeId, number>();
    for (const id of ids) side.set(id, this.rng.int(0, 1));
    if (new Set(side.values()).size < 2) side.set(this.rng.pick(ids), 1 - side.get(ids[0]!)!);
    this.partition = side;
    this.stats.partitions++;
    this.log(
      `partition: [${ids.filter((i) => side.get(i) === 0)}] | [${ids.filter((i) => side.get(i) === 1)}]`,
    );
    const p = side;
    this.q.push(this.q.now + this.rng.int(100, 1000), () => {
      if (this.partition === p) {
        this.partition = undefined;
        this.log('partition healed');
      }
    });
  }

  private crashSomeone(): void {
    const up = this.upNodes();
    const members = this.members();
    const down = members.filter((id) => !this.nodes.get(id)?.core).length;
    if (up.length === 0 || down >= Math.ceil(members.length / 2)) return;
    this.crash(this.rng.pick(up), false);
  }

  private pauseSomeone(): void {
    const up = this.upNodes().filter((n) => n.pausedUntil <= this.q.now);
    if (up.length === 0) return;
    // Favour the leader: a paused leader that wakes up believing it still leads is the classic
    // stale-read scenario ReadIndex must handle.
    const l = this.leader();
    const n = l && this.rng.chance(0.6) ? l : this.rng.pick(up);
    n.pausedUntil = this.q.now + this.rng.int(50, 400);
    this.stats.pauses++;
    this.log(`node ${n.id} pauses until ${n.pausedUntil}`);
  }

  private changeMembership(): void {
    const l = this.leader();
    if (!l) return;
    const core = l.core!;
    const conf = core.confState();
    const prs = core.progress();
    const caughtUp = conf.learners.filter((id) => {
      const pr = prs.find((p) => p.id === id);
      return pr !== undefined && pr.match + 3 >= core.status().commit;
    });
    let cc: { type: 'addNode' | 'addLearner' | 'removeNode'; nodeId: NodeId };
    if (caughtUp.length > 0 && conf.voters.length < this.opts.nodes + 2) {
      cc = { type: 'addNode', nodeId: this.rng.pick(caughtUp) };
    } else if (conf.voters.length > 3 && this.rng.chance(0.6)) {
      cc = { type: 'removeNode', nodeId: this.rng.pick([...conf.voters, ...conf.learners]) };
    } else if (conf.learners.length > 0 && this.rng.chance(0.5)) {
      cc = { type: 'removeNode', nodeId: this.rng.pick(conf.learners) };
    } else if (conf.voters.length + conf.learners.length < this.opts.nodes + 2) {
      // Reuse a node that was started for an add that never committed, else a brand-new one.
      const member = new Set([...conf.voters, ...conf.learners]);
      let spare = [...this.nodes.values()].find(
        (n) => !n.removed && !member.has(n.id) && !this.conf.voters.includes(n.id),
      );
      if (!spare) {
        const id = String(this.nextNodeId++);
        spare = new SimNode(id, emptyDisk(), []);
        this.nodes.set(id, spare);
        this.start(spare);
      }
      cc = { type: 'addLearner', nodeId: spare.id };
    } else return;
    try {
      core.proposeConfChange(cc);
      this.stats.confChanges++;
      this.log(`leader ${l.id} proposes ${cc.type} ${cc.nodeId}`);
      this.pump(l);
    } catch (e) {
      if (!(e instanceof NotLeaderError || e instanceof ProposalDroppedError)) throw e;
    }
  }

  private transfer(): void {
    const l = this.leader();
    if (!l) return;
    const others = l.core!.confState().voters.filter((v) => v !== l.id);
    if (others.length === 0) return;
    const to = this.rng.pick(others);
    l.core!.transferLeadership(to);
    this.stats.transfers++;
    this.log(`leader ${l.id} transfers leadership to ${to}`);
    this.pump(l);
  }
}
