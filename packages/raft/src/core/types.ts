/**
 * Raft data types shared by the pure core, the I/O driver and the simulation. Node IDs are decimal
 * strings because member IDs are random uint64 values, which do not fit in a JS number.
 */

/** A Raft node ID (decimal uint64 string). The empty string means "none". */
export type NodeId = string;

/** What an entry carries: an application command, or a membership change. */
export type EntryType = 'normal' | 'confChange';

/** One log entry. `data` is empty for the no-op entry a new leader appends. */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** The state Raft must persist before answering any message: term, vote and commit index. */
export interface HardState {
  term: number;
  /** Candidate voted for in `term`, "" when none. */
  vote: NodeId;
  commit: number;
}

/** A cluster configuration: who votes and who only receives the log. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

/**
 * The point the log was compacted to: everything up to `index` lives in the state machine.
 * `conf` is the configuration in effect at `index` (absent for a log that was never compacted or
 * a bootstrap snapshot: the configured voters apply).
 */
export interface SnapshotMeta {
  index: number;
  term: number;
  conf?: ConfState;
}

/** A state-machine snapshot as it travels from a leader to a far-behind follower. */
export interface Snapshot {
  meta: SnapshotMeta;
  /** The application's serialized state at `meta.index` (opaque to Raft). */
  data: Uint8Array;
}

/** Role reported to the outside. A pre-candidate (PreVote phase) reports as `candidate`. */
export type Role = 'follower' | 'candidate' | 'leader';

/** Volatile state worth reporting; not persisted. */
export interface SoftState {
  role: Role;
  /** Current leader, "" when unknown. */
  lead: NodeId;
}

interface MessageBase {
  from: NodeId;
  to: NodeId;
  term: number;
}

/** Messages between peers. */
export type Message =
  | (MessageBase & {
      /** `preVote` does not change anyone's term; `vote` is the real election. */
      type: 'vote' | 'preVote';
      lastIndex: number;
      lastTerm: number;
      /** Set by a leadership transfer: bypasses leader stickiness. */
      transfer?: boolean;
    })
  | (MessageBase & { type: 'voteResp' | 'preVoteResp'; granted: boolean })
  | (MessageBase & {
      type: 'append';
      prevIndex: number;
      prevTerm: number;
      entries: Entry[];
      commit: number;
    })
  | (MessageBase & {
      type: 'appendResp';
      success: boolean;
      /**
       * On success: the last index now matching the leader. On reject: the `prevIndex` that was
       * rejected (lets the leader ignore stale rejections).
       */
      index: number;
      /** On reject: the follower's guess of the last index that may match (fast backtracking)... */
      hintIndex: number;
      /** ...and its term there (0 when unknown). */
      hintTerm: number;
    })
  | (MessageBase & { type: 'heartbeat'; commit: number; context: string })
  | (MessageBase & { type: 'heartbeatResp'; context: string })
  | (MessageBase & { type: 'snapshot'; snapshot: Snapshot })
  /** A follower forwards a linearizable read to the leader... */
  | (MessageBase & { type: 'readIndex'; context: string })
  /** ...which answers with the commit index the read must wait for. */
  | (MessageBase & { type: 'readIndexResp'; index: number; context: string })
  /** Leadership transfer: the target campaigns at once, skipping PreVote. */
  | (MessageBase & { type: 'timeoutNow' });

/** The type tag of a message. */
export type MessageType = Message['type'];

/** A linearizable read became serviceable once the state machine has applied `index`. */
export interface ReadState {
  index: number;
  /** The context the caller passed to `readIndex`. */
  context: string;
}

/**
 * What the driver must do next, in this order:
 * 1. persist `snapshot` (if any), `hardState` and `entries` — one fsync when `mustSync`;
 * 2. send `messages` (never before step 1 completed);
 * 3. install `snapshot` into the state machine, then apply `committedEntries`;
 * 4. call `advance(ready)`.
 * `committedEntries` are always entries persisted by an earlier Ready, so a driver may apply them
 * while step 1 is still in flight. A crash before step 1 completes loses that Ready's state, which
 * is safe: nothing depending on it was sent.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  /** A snapshot from the leader to install (replaces the log up to its index). */
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  /** Reads that are now serviceable once `applied >= index`. */
  readStates: ReadState[];
  /** False when only the commit index changed: it can be recovered, so no fsync is needed. */
  mustSync: boolean;
}

/** What a node starts from: the persisted hard state, compaction point and log after it. */
export interface InitialState {
  hardState: HardState;
  snapshot: SnapshotMeta;
  entries: Entry[];
  /** The state-machine snapshot at `snapshot.index`, sent to followers that fall behind it. */
  snapshotData?: Uint8Array;
}

/**
 * A membership change, carried by a `confChange` entry. It takes effect when the entry is applied
 * (committed), and only one may be pending at a time. `addNode` on a learner promotes it.
 */
export interface ConfChange {
  type: 'addNode' | 'addLearner' | 'removeNode';
  nodeId: NodeId;
}

/** Encode a membership change as entry data (JSON: small, rare, readable in a WAL dump). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId }));
}

/** Decode the data of a `confChange` entry; throws on anything else. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const v = JSON.parse(new TextDecoder().decode(data)) as { type?: unknown; nodeId?: unknown };
  if (
    (v.type !== 'addNode' && v.type !== 'addLearner' && v.type !== 'removeNode') ||
    typeof v.nodeId !== 'string' ||
    v.nodeId === ''
  ) {
    throw new Error('raft: malformed conf change');
  }
  return { type: v.type, nodeId: v.nodeId };
}

/** The configuration after applying `cc` to `conf` (pure; the input is not modified). */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  const voters = conf.voters.filter((v) => v !== cc.nodeId);
  const learners = conf.learners.filter((v) => v !== cc.nodeId);
  if (cc.type === 'addNode') voters.push(cc.nodeId);
  else if (cc.type === 'addLearner') {
    // A voter cannot be demoted by addLearner: keep it a voter.
    if (conf.voters.includes(cc.nodeId)) voters.push(cc.nodeId);
    else learners.push(cc.nodeId);
  }
  return { voters, learners };
}
