import { RaftLog } from './raft-log.js';
import type {
  Entry,
  EntryType,
  HardState,
  InitialState,
  Message,
  NodeId,
  Ready,
  Role,
  SoftState,
} from './types.js';

/** Configuration of one Raft node. Pure: time arrives as `tick()` calls, randomness as `random`. */
export interface RaftCoreConfig {
  id: NodeId;
  /** Every voting member, this node included. */
  voters: NodeId[];
  /** Ticks without hearing from a leader before campaigning (randomised in [n, 2n)). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be < electionTick. */
  heartbeatTick: number;
  /** Uniform source in [0, 1); pass a seeded one (see `seededRandom`) for deterministic runs. */
  random: () => number;
  initial: InitialState;
  /** Index the state machine has already applied (from the state machine itself). */
  applied: number;
  /** Cap on entries per append message (default 256). */
  maxEntriesPerAppend?: number;
  /** Cap on committed entries handed out per Ready (default 8192), bounding one apply batch. */
  maxCommittedPerReady?: number;
}

/** Thrown by `propose` on a node that is not the leader; `leader` is "" when unknown. */
export class NotLeaderError extends Error {
  readonly leader: NodeId;
  constructor(leader: NodeId) {
    super(leader === '' ? 'raft: no leader' : `raft: not leader (leader is ${leader})`);
    this.name = 'NotLeaderError';
    this.leader = leader;
  }
}

/** Replication progress the leader tracks per follower. */
interface Progress {
  match: number;
  next: number;
}

/** A point-in-time view of the node, for status endpoints. */
export interface RaftCoreStatus {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId;
  lead: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  lastTerm: number;
  stableIndex: number;
  snapshotIndex: number;
}

/**
 * Raft consensus (Ongaro & Ousterhout), shaped like etcd-raft: no I/O, no clock. The driver calls
 * `tick()` on a timer, `propose()` for client commands and `step()` for peer messages, then drains
 * `ready()` (persist, send, apply) and calls `advance()`. With one voter, an entry commits as soon as
 * the driver reports it persisted; with several, once a majority have it (issue 3).
 */
export class RaftCore {
  readonly id: NodeId;
  private readonly voters: NodeId[];
  private readonly electionTick: number;
  private readonly heartbeatTick: number;
  private readonly random: () => number;
  private readonly maxEntriesPerAppend: number;
  private readonly maxCommittedPerReady: number;
  readonly log: RaftLog;

  private term: number;
  private vote: NodeId;
  private lead: NodeId = '';
  private role: Role = 'follower';
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private votes = new Map<NodeId, boolean>();
  private progress = new Map<NodeId, Progress>();
  private msgs: Message[] = [];
  private pendingBroadcast = false;
  private prevHard: HardState;
  private prevSoft: SoftState;

  constructor(cfg: RaftCoreConfig) {
    if (!cfg.voters.includes(cfg.id)) throw new Error(`raft: ${cfg.id} is not among the voters`);
    if (cfg.heartbeatTick <= 0 || cfg.electionTick <= cfg.heartbeatTick) {
      throw new Error('raft: need 0 < heartbeatTick < electionTick');
    }
    this.id = cfg.id;
    this.voters = [...new Set(cfg.voters)];
    this.electionTick = cfg.electionTick;
    this.heartbeatTick = cfg.heartbeatTick;
    this.random = cfg.random;
    this.maxEntriesPerAppend = cfg.maxEntriesPerAppend ?? 256;
    this.maxCommittedPerReady = cfg.maxCommittedPerReady ?? 8192;
    const { hardState, snapshot, entries } = cfg.initial;
    this.log = new RaftLog(snapshot, entries, hardState.commit, cfg.applied);
    if (hardState.term < this.log.lastTerm()) {
      throw new Error(
        `raft: hard state term ${hardState.term} is behind the log's last term ${this.log.lastTerm()}`,
      );
    }
    this.term = hardState.term;
    this.vote = hardState.vote;
    // The persisted state is the baseline: a Ready reports only changes from it.
    this.prevHard = { term: this.term, vote: this.vote, commit: this.log.committed };
    this.prevSoft = { role: this.role, lead: this.lead };
    this.resetTimers();
  }

  private quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  private resetTimers(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTick + Math.floor(this.random() * this.electionTick);
  }

  private becomeFollower(term: number, lead: NodeId): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = '';
    }
    this.role = 'follower';
    this.lead = lead;
    this.votes.clear();
    this.resetTimers();
  }

  private becomeCandidate(): void {
    this.term += 1;
    this.vote = this.id;
    this.role = 'candidate';
    this.lead = '';
    this.votes = new Map([[this.id, true]]);
    this.resetTimers();
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.lead = this.id;
    this.resetTimers();
    this.progress.clear();
    for (const v of this.voters) {
      if (v !== this.id) this.progress.set(v, { match: 0, next: this.log.lastIndex() + 1 });
    }
    // A no-op entry of the new term: committing it commits everything before it (§5.4.2).
    this.log.append([
      { term: this.term, index: this.log.lastIndex() + 1, type: 'normal', data: new Uint8Array(0) },
    ]);
    this.pendingBroadcast = true;
  }

  /** Start an election now (also what an election timeout does). */
  campaign(): void {
    if (this.role === 'leader') return;
    this.becomeCandidate();
    if (this.countVotes(true) >= this.quorum()) {
      this.becomeLeader();
      return;
    }
    for (const v of this.voters) {
      if (v === this.id) continue;
      this.send({
        type: 'vote',
        from: this.id,
        to: v,
        term: this.term,
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm(),
      });
    }
  }

  private countVotes(granted: boolean): number {
    let n = 0;
    for (const g of this.votes.values()) if (g === granted) n++;
    return n;
  }

  /** Advance logical time by one tick. */
  tick(): void {
    if (this.role === 'leader') {
      this.heartbeatElapsed++;
      if (this.heartbeatElapsed >= this.heartbeatTick) {
        this.heartbeatElapsed = 0;
        this.pendingBroadcast = true;
      }
      return;
    }
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign();
    }
  }

  /** Append a command to the log (leader only); it commits later. Returns its position. */
  propose(data: Uint8Array, type: EntryType = 'normal'): { index: number; term: number } {
    if (this.role !== 'leader') throw new NotLeaderError(this.lead);
    const entry: Entry = { term: this.term, index: this.log.lastIndex() + 1, type, data };
    this.log.append([entry]);
    this.pendingBroadcast = true;
    return { index: entry.index, term: entry.term };
  }

  /** Feed a message from a peer. */
  step(m: Message): void {
    if (m.term > this.term) {
      this.becomeFollower(m.term, m.type === 'append' ? m.from : '');
    } else if (m.term < this.term) {
      // Tell a stale leader about the newer term so that it steps down.
      if (m.type === 'append') {
        this.send({
          type: 'appendResp',
          from: this.id,
          to: m.from,
          term: this.term,
          success: false,
          index: this.log.lastIndex(),
        });
      }
      return;
    }
    switch (m.type) {
      case 'vote': {
        const canVote = this.vote === '' || this.vote === m.from;
        const granted = canVote && this.lead === '' && this.log.isUpToDate(m.lastIndex, m.lastTerm);
        if (granted) {
          this.vote = m.from;
          this.electionElapsed = 0;
        }
        this.send({ type: 'voteResp', from: this.id, to: m.from, term: this.term, granted });
        return;
      }
      case 'voteResp': {
        if (this.role !== 'candidate') return;
        this.votes.set(m.from, m.granted);
        if (this.countVotes(true) >= this.quorum()) this.becomeLeader();
        else if (this.countVotes(false) >= this.quorum()) this.becomeFollower(this.term, '');
        return;
      }
      case 'append': {
        if (this.role === 'leader') return; // two leaders in one term cannot happen; ignore
        if (this.role === 'candidate') this.becomeFollower(this.term, m.from);
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      }
      case 'appendResp': {
        if (this.role !== 'leader') return;
        this.handleAppendResp(m);
        return;
      }
    }
  }

  private handleAppend(m: Extract<Message, { type: 'append' }>): void {
    const reply = (success: boolean, index: number): void =>
      this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, success, index });
    if (m.prevIndex < this.log.committed) {
      reply(true, this.log.committed);
      return;
    }
    const last = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.entries);
    if (last === undefined) {
      reply(false, this.log.lastIndex());
      return;
    }
    const commit = Math.min(m.commit, last);
    if (commit > this.log.committed) this.log.commitTo(commit);
    reply(true, last);
  }

  private handleAppendResp(m: Extract<Message, { type: 'appendResp' }>): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    if (!m.success) {
      pr.next = Math.max(1, Math.min(pr.next - 1, m.index + 1));
      this.sendAppend(m.from);
      return;
    }
    if (m.index > pr.match) {
      pr.match = m.index;
      if (pr.next <= m.index) pr.next = m.index + 1;
      if (this.maybeCommit()) this.pendingBroadcast = true;
    }
    if (pr.next <= this.log.lastIndex()) this.sendAppend(m.from);
  }

  private sendAppend(to: NodeId): void {
    const pr = this.progress.get(to);
    if (!pr) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    // The follower needs entries we compacted away; it must be sent a state-machine snapshot, which
    // arrives with multi-node support (issue 3). Until then it is left behind rather than fed gaps.
    if (prevTerm === undefined) return;
    const entries = this.log.slice(pr.next, this.log.lastIndex(), this.maxEntriesPerAppend);
    const last = entries[entries.length - 1];
    if (last) pr.next = last.index + 1; // optimistic: a reject backs it off again
    this.send({
      type: 'append',
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries,
      commit: this.log.committed,
    });
  }

  private broadcastAppend(): void {
    for (const v of this.voters) if (v !== this.id) this.sendAppend(v);
  }

  /** Commit the highest index a majority has persisted, if it is from the current term. */
  private maybeCommit(): boolean {
    const matches = this.voters.map((v) =>
      v === this.id ? this.log.stableIndex : (this.progress.get(v)?.match ?? 0),
    );
    matches.sort((a, b) => b - a);
    const idx = matches[this.quorum() - 1] ?? 0;
    if (idx > this.log.committed && this.log.term(idx) === this.term) return this.log.commitTo(idx);
    return false;
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Whether `ready()` has anything to do. */
  hasReady(): boolean {
    if (this.pendingBroadcast && this.role === 'leader' && this.voters.length > 1) return true;
    if (this.msgs.length > 0) return true;
    if (this.prevSoft.role !== this.role || this.prevSoft.lead !== this.lead) return true;
    const hs = this.hardState();
    if (
      hs.term !== this.prevHard.term ||
      hs.vote !== this.prevHard.vote ||
      hs.commit !== this.prevHard.commit
    )
      return true;
    return this.log.stableIndex < this.log.lastIndex() || this.log.hasNextCommitted();
  }

  /** Collect the work for the driver. Call `advance()` with the result once it is done. */
  ready(): Ready {
    if (this.pendingBroadcast) {
      this.pendingBroadcast = false;
      if (this.role === 'leader') this.broadcastAppend();
    }
    const rd: Ready = {
      entries: this.log.unstableEntries(),
      committedEntries: this.log.nextCommitted(this.maxCommittedPerReady),
      messages: this.msgs,
      mustSync: false,
    };
    this.msgs = [];
    if (this.prevSoft.role !== this.role || this.prevSoft.lead !== this.lead) {
      rd.softState = { role: this.role, lead: this.lead };
    }
    const hs = this.hardState();
    if (
      hs.term !== this.prevHard.term ||
      hs.vote !== this.prevHard.vote ||
      hs.commit !== this.prevHard.commit
    ) {
      rd.hardState = hs;
    }
    rd.mustSync = rd.entries.length > 0 || hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote;
    return rd;
  }

  /** The driver finished a Ready: its entries are persisted and its committed entries applied. */
  advance(rd: Ready): void {
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.hardState) this.prevHard = rd.hardState;
    const last = rd.entries[rd.entries.length - 1];
    if (last) {
      this.log.stableTo(last.index, last.term);
      // Our own persisted entries count toward the majority; with one voter this commits them.
      if (this.role === 'leader' && this.maybeCommit() && this.voters.length > 1)
        this.pendingBroadcast = true;
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) this.log.appliedTo(lastApplied.index);
  }

  /** Forget log entries up to `index`: the state machine has them durably (a checkpoint). */
  compact(index: number): void {
    this.log.compact(index);
  }

  /** Current term (cheap; for response headers). */
  currentTerm(): number {
    return this.term;
  }

  status(): RaftCoreStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      lead: this.lead,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      stableIndex: this.log.stableIndex,
      snapshotIndex: this.log.snapshot().index,
    };
  }
}

/** A small seeded PRNG (mulberry32) for deterministic election timeouts. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
