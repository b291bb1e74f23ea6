import { Progress } from './progress.js';
import type { ProgressState } from './progress.js';
import { RaftLog } from './raft-log.js';
import { applyConfChange, decodeConfChange, encodeConfChange } from './types.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  EntryType,
  HardState,
  InitialState,
  Message,
  NodeId,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SoftState,
} from './types.js';

/** Configuration of one Raft node. Pure: time arrives as `tick()` calls, randomness as `random`. */
export interface RaftCoreConfig {
  id: NodeId;
  /**
   * The bootstrap voters (this node normally included). Ignored when the initial snapshot carries
   * a configuration. A node joining an existing cluster passes `[]` and learns it from the leader.
   */
  voters: NodeId[];
  /** Bootstrap learners (default none). */
  learners?: NodeId[];
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
  /** Cap on entry payload bytes per append message (default 1 MiB; one entry always fits). */
  maxBytesPerAppend?: number;
  /** Append messages in flight per follower in replicate state (default 64). */
  maxInflight?: number;
  /** Cap on committed entries handed out per Ready (default 8192), bounding one apply batch. */
  maxCommittedPerReady?: number;
  /** PreVote phase before real elections (default true). */
  preVote?: boolean;
  /** Leader steps down without a live quorum; followers with a live leader ignore votes (default true). */
  checkQuorum?: boolean;
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

/** Thrown by `propose` when the leader cannot take the proposal now (transfer or conf change pending). */
export class ProposalDroppedError extends Error {
  constructor(reason: string) {
    super(`raft: proposal dropped: ${reason}`);
    this.name = 'ProposalDroppedError';
  }
}

/** A point-in-time view of the node, for status endpoints. */
export interface RaftCoreStatus {
  id: NodeId;
  role: Role;
  /** True while in the PreVote phase (role reports `candidate`). */
  preCandidate: boolean;
  term: number;
  vote: NodeId;
  lead: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  lastTerm: number;
  stableIndex: number;
  snapshotIndex: number;
  voters: NodeId[];
  learners: NodeId[];
  /** Target of a leadership transfer in progress ("" when none). */
  leadTransferee: NodeId;
}

/** What the leader knows about one peer (see `RaftCore.progress`). */
export interface PeerProgress {
  id: NodeId;
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
}

type State = 'follower' | 'preCandidate' | 'candidate' | 'leader';

interface ReadRequest {
  context: string;
  index: number;
  /** Who asked: this node (answered through Ready.readStates) or a follower (readIndexResp). */
  from: NodeId;
  acks: Set<NodeId>;
}

/**
 * Raft consensus (Ongaro & Ousterhout), shaped like etcd-raft: no I/O, no clock. The driver calls
 * `tick()` on a timer, `propose()` for client commands and `step()` for peer messages, then drains
 * `ready()` (persist, send, apply) and calls `advance()`.
 *
 * Features: PreVote and CheckQuorum (leader stickiness), batched and pipelined replication with
 * probe/replicate/snapshot progress and fast backtracking, snapshots for followers behind the
 * compaction point, ReadIndex reads, leadership transfer, learners and one-at-a-time membership
 * changes that take effect when applied.
 */
export class RaftCore {
  readonly id: NodeId;
  private readonly electionTick: number;
  private readonly heartbeatTick: number;
  private readonly random: () => number;
  private readonly maxEntriesPerAppend: number;
  private readonly maxBytesPerAppend: number;
  private readonly maxInflight: number;
  private readonly maxCommittedPerReady: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  readonly log: RaftLog;

  private term: number;
  private vote: NodeId;
  private lead: NodeId = '';
  private state: State = 'follower';
  private conf: ConfState;
  /** Configurations by the index they took effect at, from the compaction point on. */
  private confHistory: Array<{ index: number; conf: ConfState }>;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private votes = new Map<NodeId, boolean>();
  private prs = new Map<NodeId, Progress>();
  private leadTransferee: NodeId = '';
  /** Index of the latest conf change proposed by this leader; a new one waits until it is applied. */
  private pendingConfIndex = 0;
  private readQueue: ReadRequest[] = [];
  /** Reads that arrived before this leader committed an entry of its term. */
  private pendingReads: Array<{ from: NodeId; context: string }> = [];
  private readStates: ReadState[] = [];
  private snapshotData: Uint8Array;
  /** A snapshot received from the leader, to hand to the driver in the next Ready. */
  private pendingSnapshot: Snapshot | undefined;
  private msgs: Message[] = [];
  private pendingAppend = false;
  private pendingCommitBroadcast = false;
  private prevHard: HardState;
  private prevSoft: SoftState;

  constructor(cfg: RaftCoreConfig) {
    if (cfg.heartbeatTick <= 0 || cfg.electionTick <= cfg.heartbeatTick) {
      throw new Error('raft: need 0 < heartbeatTick < electionTick');
    }
    this.id = cfg.id;
    this.electionTick = cfg.electionTick;
    this.heartbeatTick = cfg.heartbeatTick;
    this.random = cfg.random;
    this.maxEntriesPerAppend = cfg.maxEntriesPerAppend ?? 256;
    this.maxBytesPerAppend = cfg.maxBytesPerAppend ?? 1024 * 1024;
    this.maxInflight = cfg.maxInflight ?? 64;
    this.maxCommittedPerReady = cfg.maxCommittedPerReady ?? 8192;
    this.preVote = cfg.preVote ?? true;
    this.checkQuorum = cfg.checkQuorum ?? true;
    const { hardState, snapshot, entries } = cfg.initial;
    this.log = new RaftLog(snapshot, entries, hardState.commit, cfg.applied);
    if (hardState.term < this.log.lastTerm()) {
      throw new Error(
        `raft: hard state term ${hardState.term} is behind the log's last term ${this.log.lastTerm()}`,
      );
    }
    this.snapshotData = cfg.initial.snapshotData ?? new Uint8Array(0);
    this.term = hardState.term;
    this.vote = hardState.vote;
    let conf: ConfState = snapshot.conf
      ? { voters: [...snapshot.conf.voters], learners: [...snapshot.conf.learners] }
      : { voters: [...new Set(cfg.voters)], learners: [...new Set(cfg.learners ?? [])] };
    this.confHistory = [{ index: this.log.snapshot().index, conf }];
    // Membership changes the state machine already applied are in effect.
    for (let i = this.log.firstIndex(); i <= this.log.applied; i++) {
      const e = this.log.slice(i, i)[0]!;
      if (e.type !== 'confChange') continue;
      conf = applyConfChange(conf, decodeConfChange(e.data));
      this.confHistory.push({ index: e.index, conf });
    }
    this.conf = conf;
    // The persisted state is the baseline: a Ready reports only changes from it.
    this.prevHard = { term: this.term, vote: this.vote, commit: this.log.committed };
    this.prevSoft = { role: 'follower', lead: '' };
    this.resetRandomizedTimeout();
  }

  // ---------------------------------------------------------------- configuration helpers

  private isVoter(id: NodeId): boolean {
    return this.conf.voters.includes(id);
  }

  private promotable(): boolean {
    return this.isVoter(this.id);
  }

  private quorum(): number {
    return Math.floor(this.conf.voters.length / 2) + 1;
  }

  private countVoters(pred: (id: NodeId) => boolean): number {
    let n = 0;
    for (const v of this.conf.voters) if (pred(v)) n++;
    return n;
  }

  private confAt(index: number): ConfState {
    let c = this.confHistory[0]!.conf;
    for (const h of this.confHistory) if (h.index <= index) c = h.conf;
    return c;
  }

  // ---------------------------------------------------------------- role transitions

  private resetRandomizedTimeout(): void {
    this.randomizedElectionTimeout = this.electionTick + Math.floor(this.random() * this.electionTick);
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = '';
    }
    this.lead = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedTimeout();
    this.leadTransferee = '';
    this.votes.clear();
    this.prs.clear();
    this.pendingConfIndex = 0;
    this.readQueue = [];
    this.pendingReads = [];
    this.pendingAppend = false;
    this.pendingCommitBroadcast = false;
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = 'follower';
  }

  private becomePreCandidate(): void {
    // No term change and no vote: a PreVote round leaves no trace if it fails.
    this.votes.clear();
    this.lead = '';
    this.state = 'preCandidate';
    this.resetRandomizedTimeout();
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = 'candidate';
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.state = 'leader';
    for (const id of [...this.conf.voters, ...this.conf.learners]) {
      if (id === this.id) continue;
      const pr = new Progress(id, this.log.lastIndex() + 1, this.maxInflight, !this.isVoter(id));
      pr.recentActive = true;
      this.prs.set(id, pr);
    }
    // Conservative: conf changes wait until everything up to here (the no-op included) is applied.
    this.pendingConfIndex = this.log.lastIndex() + 1;
    // A no-op entry of the new term: committing it commits everything before it (§5.4.2).
    this.log.append([
      { term: this.term, index: this.log.lastIndex() + 1, type: 'normal', data: new Uint8Array(0) },
    ]);
    this.pendingAppend = true;
  }

  private hasUnappliedConfChanges(): boolean {
    const hi = this.log.committed;
    for (let i = Math.max(this.log.applied + 1, this.log.firstIndex()); i <= hi; i++) {
      if (this.log.slice(i, i)[0]?.type === 'confChange') return true;
    }
    return false;
  }

  /** Start an election now (what an election timeout does): PreVote first unless disabled. */
  campaign(): void {
    this.hup(false);
  }

  private hup(transfer: boolean): void {
    if (this.state === 'leader') return;
    if (!this.promotable()) return;
    // A membership change that is committed but not applied may change who votes: wait for it.
    if (this.hasUnappliedConfChanges()) return;
    if (this.preVote && !transfer) this.runElection('pre', false);
    else this.runElection('real', transfer);
  }

  private runElection(kind: 'pre' | 'real', transfer: boolean): void {
    let voteTerm: number;
    if (kind === 'pre') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (this.countVoters((v) => this.votes.get(v) === true) >= this.quorum()) {
      if (kind === 'pre') this.runElection('real', transfer);
      else this.becomeLeader();
      return;
    }
    for (const v of this.conf.voters) {
      if (v === this.id) continue;
      this.send({
        type: kind === 'pre' ? 'preVote' : 'vote',
        from: this.id,
        to: v,
        term: voteTerm,
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm(),
        ...(transfer ? { transfer: true } : {}),
      });
    }
  }

  // ---------------------------------------------------------------- time

  /** Advance logical time by one tick. */
  tick(): void {
    if (this.state === 'leader') this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTick) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        const active = this.countVoters((v) => v === this.id || this.prs.get(v)?.recentActive === true);
        for (const pr of this.prs.values()) pr.recentActive = false;
        if (active < this.quorum()) {
          this.becomeFollower(this.term, '');
          return;
        }
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = '';
    }
    for (const pr of this.prs.values()) {
      if (pr.state === 'snapshot' && ++pr.snapshotElapsed >= this.electionTick) {
        // The snapshot (or its acknowledgement) was probably lost: probe again, which resends it.
        pr.becomeProbe();
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  // ---------------------------------------------------------------- client API

  /** Append a command to the log (leader only); it commits later. Returns its position. */
  propose(data: Uint8Array, type: EntryType = 'normal'): { index: number; term: number } {
    if (this.state !== 'leader') throw new NotLeaderError(this.lead);
    if (this.leadTransferee !== '') {
      throw new ProposalDroppedError(`leadership is moving to ${this.leadTransferee}`);
    }
    const index = this.log.lastIndex() + 1;
    if (type === 'confChange') {
      if (this.pendingConfIndex > this.log.applied) {
        throw new ProposalDroppedError('another membership change is still pending');
      }
      const next = applyConfChange(this.conf, decodeConfChange(data));
      if (next.voters.length === 0) throw new ProposalDroppedError('a cluster needs at least one voter');
      this.pendingConfIndex = index;
    }
    this.log.append([{ term: this.term, index, type, data }]);
    this.pendingAppend = true;
    return { index, term: this.term };
  }

  /** Propose a membership change (leader only; one at a time; takes effect when applied). */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    return this.propose(encodeConfChange(cc), 'confChange');
  }

  /**
   * Ask for a linearizable read point. The answer arrives as a `ReadState` with the same `context`
   * in a later Ready; serve the read once the state machine applied its index. Returns false when
   * the request was dropped (no known leader): retry later. Contexts must be unique.
   */
  readIndex(context: string): boolean {
    if (this.state === 'leader') {
      this.handleReadIndex(this.id, context);
      return true;
    }
    if (this.lead === '' || this.lead === this.id) return false;
    this.send({ type: 'readIndex', from: this.id, to: this.lead, term: this.term, context });
    return true;
  }

  /**
   * Hand leadership to `to` (leader only): once its log is caught up it is told to campaign at
   * once. Proposals are refused meanwhile; the transfer is abandoned after an election timeout.
   */
  transferLeadership(to: NodeId): void {
    if (this.state !== 'leader') throw new NotLeaderError(this.lead);
    if (to === this.id) return;
    if (!this.isVoter(to)) throw new Error(`raft: cannot transfer leadership to ${to}: not a voter`);
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.electionElapsed = 0;
    const pr = this.prs.get(to)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppendsTo(to, true);
  }

  // ---------------------------------------------------------------- messages

  /** Feed a message from a peer. */
  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const inLease = this.checkQuorum && this.lead !== '' && this.electionElapsed < this.electionTick;
        // Leader stickiness: a live leader is not deposed by a node that merely lost contact.
        if (!m.transfer && inLease) return;
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResp' && m.granted)) {
        // PreVote traffic carries the prospective term; it changes nobody's term.
      } else {
        const lead = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot' ? m.from : '';
        this.becomeFollower(m.term, lead);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A stale leader (e.g. back from a partition) learns the newer term and steps down.
        this.send({
          type: 'appendResp',
          from: this.id,
          to: m.from,
          term: this.term,
          success: false,
          index: 0,
          hintIndex: 0,
          hintTerm: 0,
        });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, granted: false });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVote(m);
      return;
    }
    switch (this.state) {
      case 'follower':
        this.stepFollower(m);
        return;
      case 'preCandidate':
      case 'candidate':
        this.stepCandidate(m);
        return;
      case 'leader':
        this.stepLeader(m);
        return;
    }
  }

  private handleVote(m: Extract<Message, { type: 'vote' | 'preVote' }>): void {
    const pre = m.type === 'preVote';
    const canVote =
      this.vote === m.from || (this.vote === '' && this.lead === '') || (pre && m.term > this.term);
    const respType = pre ? 'preVoteResp' : 'voteResp';
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      // A PreVote grant answers in the prospective term so that the pre-candidate counts it.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, granted: true });
      if (!pre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, granted: false });
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeoutNow':
        // Leadership transfer: campaign at once, skipping PreVote and the leader lease.
        this.hup(true);
        return;
      case 'readIndexResp':
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Someone won this term.
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        return;
      case 'voteResp':
      case 'preVoteResp': {
        if ((m.type === 'preVoteResp') !== (this.state === 'preCandidate')) return;
        if (!this.isVoter(m.from)) return;
        this.votes.set(m.from, m.granted);
        const granted = this.countVoters((v) => this.votes.get(v) === true);
        const rejected = this.countVoters((v) => this.votes.get(v) === false);
        if (granted >= this.quorum()) {
          if (this.state === 'preCandidate') this.runElection('real', false);
          else this.becomeLeader();
        } else if (rejected >= this.quorum()) {
          this.becomeFollower(this.term, '');
        }
        return;
      }
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'appendResp':
        this.handleAppendResp(m);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResp(m);
        return;
      case 'readIndex':
        this.handleReadIndex(m.from, m.context);
        return;
      default:
        return;
    }
  }

  private handleAppend(m: Extract<Message, { type: 'append' }>): void {
    if (m.prevIndex < this.log.committed) {
      this.sendAppendResp(m.from, true, this.log.committed, 0, 0);
      return;
    }
    const last = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.entries);
    if (last !== undefined) {
      const commit = Math.min(m.commit, last);
      if (commit > this.log.committed) this.log.commitTo(commit);
      this.sendAppendResp(m.from, true, last, 0, 0);
      return;
    }
    // Reject with a hint: the last index at or below prevIndex whose term is <= prevTerm. Every
    // entry above it is certain not to match, so the leader can skip them all in one round trip.
    const hintIndex = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    const hintTerm = this.log.term(hintIndex) ?? 0;
    this.sendAppendResp(m.from, false, m.prevIndex, hintIndex, hintTerm);
  }

  private sendAppendResp(
    to: NodeId,
    success: boolean,
    index: number,
    hintIndex: number,
    hintTerm: number,
  ): void {
    this.send({
      type: 'appendResp',
      from: this.id,
      to,
      term: this.term,
      success,
      index,
      hintIndex,
      hintTerm,
    });
  }

  private handleHeartbeat(m: Extract<Message, { type: 'heartbeat' }>): void {
    if (m.commit > this.log.committed) this.log.commitTo(m.commit);
    this.send({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.term, context: m.context });
  }

  private handleSnapshot(m: Extract<Message, { type: 'snapshot' }>): void {
    const s = m.snapshot;
    if (s.meta.index <= this.log.committed) {
      this.sendAppendResp(m.from, true, this.log.committed, 0, 0);
      return;
    }
    if (this.log.term(s.meta.index) === s.meta.term) {
      // We already have the entries: just learn that they are committed.
      this.log.commitTo(s.meta.index);
      this.sendAppendResp(m.from, true, this.log.committed, 0, 0);
      return;
    }
    this.log.restore(s.meta);
    if (s.meta.conf) {
      this.conf = { voters: [...s.meta.conf.voters], learners: [...s.meta.conf.learners] };
    }
    this.confHistory = [{ index: s.meta.index, conf: this.conf }];
    this.snapshotData = s.data;
    this.pendingSnapshot = s;
    this.sendAppendResp(m.from, true, this.log.lastIndex(), 0, 0);
  }

  private handleAppendResp(m: Extract<Message, { type: 'appendResp' }>): void {
    const pr = this.prs.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (!m.success) {
      let nextProbe = m.hintIndex;
      if (m.hintTerm > 0) nextProbe = this.log.findConflictByTerm(m.hintIndex, m.hintTerm);
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppendsTo(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
      if (pr.state === 'probe') pr.becomeReplicate();
      else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) pr.becomeReplicate();
      else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);
      if (this.maybeCommit()) this.afterCommit();
      else if (wasPaused) this.sendAppendsTo(m.from, true);
      this.sendAppendsTo(m.from, false);
      if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResp(m: Extract<Message, { type: 'heartbeatResp' }>): void {
    const pr = this.prs.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // The follower is alive: if the window is full, one append may have been lost; make room.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
    if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.sendAppendsTo(m.from, true);
    if (m.context === '' || !this.isVoter(m.from)) return;
    const at = this.readQueue.findIndex((r) => r.context === m.context);
    if (at < 0) return;
    const req = this.readQueue[at]!;
    req.acks.add(m.from);
    if (this.countVoters((v) => req.acks.has(v)) < this.quorum()) return;
    // Leadership confirmed as of this request, hence for every earlier one too.
    const done = this.readQueue.splice(0, at + 1);
    for (const r of done) this.respondRead(r.from, r.index, r.context);
  }

  private handleReadIndex(from: NodeId, context: string): void {
    // The commit index is only known to be current once an entry of this term is committed.
    if (this.log.term(this.log.committed) !== this.term) {
      this.pendingReads.push({ from, context });
      return;
    }
    if (this.conf.voters.length === 1 && this.isVoter(this.id)) {
      this.respondRead(from, this.log.committed, context);
      return;
    }
    if (this.readQueue.some((r) => r.context === context)) return;
    this.readQueue.push({ context, index: this.log.committed, from, acks: new Set([this.id]) });
    this.bcastHeartbeat();
  }

  private respondRead(from: NodeId, index: number, context: string): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.send({ type: 'readIndexResp', from: this.id, to: from, term: this.term, index, context });
  }

  private afterCommit(): void {
    if (this.prs.size > 0) this.pendingCommitBroadcast = true;
    if (this.pendingReads.length > 0 && this.log.term(this.log.committed) === this.term) {
      const reads = this.pendingReads;
      this.pendingReads = [];
      for (const r of reads) this.handleReadIndex(r.from, r.context);
    }
  }

  /** Send what `to` needs: a snapshot, or appends (pipelined while the window allows). */
  private sendAppendsTo(to: NodeId, sendIfEmpty: boolean): void {
    if (!this.sendAppend(to, sendIfEmpty)) return;
    for (let i = 0; i < this.maxInflight + 1 && this.sendAppend(to, false); i++) {
      // keep streaming
    }
  }

  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) {
      // The follower needs entries that were compacted away: send the state-machine snapshot.
      const meta = this.log.snapshot();
      pr.becomeSnapshot(meta.index);
      this.send({
        type: 'snapshot',
        from: this.id,
        to,
        term: this.term,
        snapshot: { meta: { ...meta, conf: meta.conf ?? this.confAt(meta.index) }, data: this.snapshotData },
      });
      return true;
    }
    let entries = this.log.slice(pr.next, this.log.lastIndex(), this.maxEntriesPerAppend);
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      bytes += entries[i]!.data.length;
      if (bytes > this.maxBytesPerAppend && i > 0) {
        entries = entries.slice(0, i);
        break;
      }
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
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
    const last = entries[entries.length - 1];
    if (pr.state === 'replicate') {
      if (last) {
        pr.next = last.index + 1;
        pr.inflights.add(last.index);
      }
    } else {
      pr.probeSent = true;
    }
    return true;
  }

  private bcastHeartbeat(): void {
    const ctx = this.readQueue[this.readQueue.length - 1]?.context ?? '';
    for (const pr of this.prs.values()) {
      this.send({
        type: 'heartbeat',
        from: this.id,
        to: pr.id,
        term: this.term,
        commit: Math.min(pr.match, this.log.committed),
        context: ctx,
      });
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  /** Commit the highest index a quorum of voters has persisted, if it is from the current term. */
  private maybeCommit(): boolean {
    const matches = this.conf.voters.map((v) =>
      v === this.id ? this.log.stableIndex : (this.prs.get(v)?.match ?? 0),
    );
    matches.sort((a, b) => b - a);
    const idx = matches[this.quorum() - 1] ?? 0;
    if (idx > this.log.committed && this.log.term(idx) === this.term) return this.log.commitTo(idx);
    return false;
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }

  // ---------------------------------------------------------------- membership

  private applyConfEntry(e: Entry): void {
    const cc = decodeConfChange(e.data);
    this.conf = applyConfChange(this.conf, cc);
    this.confHistory.push({ index: e.index, conf: this.conf });
    if (this.state !== 'leader') return;
    const members = new Set([...this.conf.voters, ...this.conf.learners]);
    for (const id of [...this.prs.keys()]) if (!members.has(id)) this.prs.delete(id);
    for (const id of members) {
      if (id === this.id) continue;
      const pr = this.prs.get(id);
      if (pr) {
        pr.isLearner = !this.isVoter(id);
        continue;
      }
      const fresh = new Progress(id, this.log.lastIndex() + 1, this.maxInflight, !this.isVoter(id));
      fresh.recentActive = true;
      this.prs.set(id, fresh);
      this.pendingAppend = true;
    }
    if (this.leadTransferee !== '' && !this.isVoter(this.leadTransferee)) this.leadTransferee = '';
    if (!this.isVoter(this.id)) {
      // Removed (or demoted): a leader outside the configuration steps down.
      this.becomeFollower(this.term, '');
      return;
    }
    // A smaller quorum may commit more; a read waiting on acks may be served.
    if (this.maybeCommit()) this.afterCommit();
  }

  // ---------------------------------------------------------------- Ready

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private role(): Role {
    return this.state === 'preCandidate' ? 'candidate' : this.state;
  }

  /** Whether `ready()` has anything to do. */
  hasReady(): boolean {
    if ((this.pendingAppend || this.pendingCommitBroadcast) && this.state === 'leader' && this.prs.size > 0)
      return true;
    if (this.msgs.length > 0 || this.readStates.length > 0 || this.pendingSnapshot) return true;
    if (this.prevSoft.role !== this.role() || this.prevSoft.lead !== this.lead) return true;
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
    if (this.state === 'leader') {
      if (this.pendingAppend || this.pendingCommitBroadcast) {
        const ifEmpty = this.pendingCommitBroadcast;
        for (const id of this.prs.keys()) this.sendAppendsTo(id, ifEmpty);
      }
    }
    this.pendingAppend = false;
    this.pendingCommitBroadcast = false;
    const rd: Ready = {
      entries: this.log.unstableEntries(),
      committedEntries: this.log.nextCommitted(this.maxCommittedPerReady),
      messages: this.msgs,
      readStates: this.readStates,
      mustSync: false,
    };
    this.msgs = [];
    this.readStates = [];
    if (this.pendingSnapshot) {
      rd.snapshot = this.pendingSnapshot;
      this.pendingSnapshot = undefined;
    }
    const role = this.role();
    if (this.prevSoft.role !== role || this.prevSoft.lead !== this.lead) {
      rd.softState = { role, lead: this.lead };
    }
    const hs = this.hardState();
    if (
      hs.term !== this.prevHard.term ||
      hs.vote !== this.prevHard.vote ||
      hs.commit !== this.prevHard.commit
    ) {
      rd.hardState = hs;
    }
    rd.mustSync =
      rd.entries.length > 0 ||
      rd.snapshot !== undefined ||
      hs.term !== this.prevHard.term ||
      hs.vote !== this.prevHard.vote;
    return rd;
  }

  /** The driver finished a Ready: its state is persisted, its messages sent, its entries applied. */
  advance(rd: Ready): void {
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.hardState) this.prevHard = rd.hardState;
    const last = rd.entries[rd.entries.length - 1];
    if (last) {
      this.log.stableTo(last.index, last.term);
      // Our own persisted entries count toward the quorum; with one voter this commits them.
      if (this.state === 'leader' && this.maybeCommit()) this.afterCommit();
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.log.applied) continue; // superseded by a snapshot meanwhile
      this.log.appliedTo(e.index);
      if (e.type === 'confChange') this.applyConfEntry(e);
    }
  }

  /**
   * Forget log entries up to `index`: the state machine has them durably. `data` is the
   * state-machine snapshot at `index`, sent to followers that need entries from before it.
   */
  compact(index: number, data: Uint8Array = new Uint8Array(0)): void {
    const conf = this.confAt(index);
    if (!this.log.compact(index, conf)) return;
    this.snapshotData = data;
    let base = 0;
    for (let i = 0; i < this.confHistory.length; i++) if (this.confHistory[i]!.index <= index) base = i;
    this.confHistory = this.confHistory.slice(base);
  }

  /** The state-machine snapshot at the compaction point (as last given to `compact` or received). */
  snapshot(): Snapshot {
    const meta = this.log.snapshot();
    return { meta: { ...meta, conf: meta.conf ?? this.confAt(meta.index) }, data: this.snapshotData };
  }

  /** Current term (cheap; for response headers). */
  currentTerm(): number {
    return this.term;
  }

  /** The configuration in effect (as of the applied index). */
  confState(): ConfState {
    return { voters: [...this.conf.voters], learners: [...this.conf.learners] };
  }

  /** Replication progress of every peer; empty unless leader. */
  progress(): PeerProgress[] {
    return [...this.prs.values()].map((pr) => ({
      id: pr.id,
      match: pr.match,
      next: pr.next,
      state: pr.state,
      isLearner: pr.isLearner,
      recentActive: pr.recentActive,
    }));
  }

  status(): RaftCoreStatus {
    return {
      id: this.id,
      role: this.role(),
      preCandidate: this.state === 'preCandidate',
      term: this.term,
      vote: this.vote,
      lead: this.lead,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      stableIndex: this.log.stableIndex,
      snapshotIndex: this.log.snapshot().index,
      voters: [...this.conf.voters],
      learners: [...this.conf.learners],
      leadTransferee: this.leadTransferee,
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
