/**
 * Raft data types shared by the pure core and the I/O driver. Node IDs are decimal strings because
 * member IDs are random uint64 values, which do not fit in a JS number.
 */

/** A Raft node ID (decimal uint64 string). The empty string means "none". */
export type NodeId = string;

/** What an entry carries: an application command, or (issue 3) a membership change. */
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

/** The point the log was compacted to: everything up to `index` lives in the state machine. */
export interface SnapshotMeta {
  index: number;
  term: number;
}

export type Role = 'follower' | 'candidate' | 'leader';

/** Volatile state worth reporting; not persisted. */
export interface SoftState {
  role: Role;
  /** Current leader, "" when unknown. */
  lead: NodeId;
}

/** Messages between peers. With a single voter none are ever produced. */
export type Message =
  | { type: 'vote'; from: NodeId; to: NodeId; term: number; lastIndex: number; lastTerm: number }
  | { type: 'voteResp'; from: NodeId; to: NodeId; term: number; granted: boolean }
  | {
      type: 'append';
      from: NodeId;
      to: NodeId;
      term: number;
      prevIndex: number;
      prevTerm: number;
      entries: Entry[];
      commit: number;
    }
  | {
      type: 'appendResp';
      from: NodeId;
      to: NodeId;
      term: number;
      success: boolean;
      /** On success: the last index now matching the leader. On reject: the follower's last index. */
      index: number;
    };

/**
 * What the driver must do next, in this order: persist `hardState` and `entries` (one fsync when
 * `mustSync`), send `messages`, apply `committedEntries`, then call `advance(ready)`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  committedEntries: Entry[];
  messages: Message[];
  /** False when only the commit index changed: it can be recovered, so no fsync is needed. */
  mustSync: boolean;
}

/** What a node starts from: the persisted hard state, compaction point and log after it. */
export interface InitialState {
  hardState: HardState;
  snapshot: SnapshotMeta;
  entries: Entry[];
}

/** A membership change, carried by a `confChange` entry. */
export interface ConfChange {
  type: 'addNode' | 'removeNode';
  nodeId: NodeId;
}

/** Encode a membership change as entry data (JSON: small, rare, readable in a WAL dump). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId }));
}

/** Decode the data of a `confChange` entry; throws on anything else. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const v = JSON.parse(new TextDecoder().decode(data)) as { type?: unknown; nodeId?: unknown };
  if ((v.type !== 'addNode' && v.type !== 'removeNode') || typeof v.nodeId !== 'string') {
    throw new Error('raft: malformed conf change');
  }
  return { type: v.type, nodeId: v.nodeId };
}
