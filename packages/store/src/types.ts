/**
 * The `Store` interface: the one way every PhotonCloud service reaches control-plane state.
 *
 * Semantics are etcd v3's, on purpose: revisions (one per write transaction), create/mod revision,
 * version, ranges with `rangeEnd`, transactions with compares, watches from a revision, leases and
 * compaction. Two adapters implement it: ChainFire in-process (services/chainfire) and any etcd v3
 * endpoint over gRPC (`EtcdStore` in this package). One contract suite (test/contract.ts) runs
 * against every adapter.
 *
 * Conventions:
 * - Keys and values are bytes (`Uint8Array`, usually a `Buffer`). Helpers in `keys.ts` convert strings.
 * - Revisions are JS numbers (safe up to 2^53, far beyond any realistic history).
 * - Lease IDs are int64 in etcd; they travel here as decimal strings so they survive JSON. "0" = none.
 * - `rangeEnd` follows etcd exactly: absent → the single key; `\0` (one zero byte) → every key >= key;
 *   otherwise the half-open interval [key, rangeEnd). `prefixEnd()` builds the end for a prefix.
 * - Errors are thrown as `StoreError` (errors.ts) carrying etcd's exact message strings.
 */

/** Bytes as the store sees them. */
export type Bytes = Uint8Array;

/** Response header, as etcd's. */
export interface ResponseHeader {
  /** Cluster ID, decimal uint64 string. */
  clusterId: string;
  /** ID of the member that answered, decimal uint64 string. */
  memberId: string;
  /** Store revision when the request was applied (the newest revision for reads). */
  revision: number;
  /** Raft term of the answering member. */
  raftTerm: number;
}

/** One key-value pair at one revision (etcd's mvccpb.KeyValue). */
export interface KeyValue {
  key: Bytes;
  /** Empty when the request asked for keys only. */
  value: Bytes;
  /** Revision of the last creation of this key. */
  createRevision: number;
  /** Revision of the last modification of this key. */
  modRevision: number;
  /** Number of modifications since creation (1 on create; reset on delete). */
  version: number;
  /** Lease attached to the key, "0" when none. */
  lease: string;
}

export type SortOrder = 'none' | 'ascend' | 'descend';
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

export interface RangeRequest {
  key: Bytes;
  rangeEnd?: Bytes;
  /** Maximum number of keys returned; 0 or absent = no limit. */
  limit?: number;
  /** Read at this revision; 0 or absent = newest. */
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  /** Served by the local member without a linearizable read barrier. */
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  /** True when `limit` cut the result short. */
  more: boolean;
  /** Number of keys in the range (before `limit`). */
  count: number;
}

export interface PutRequest {
  key: Bytes;
  value: Bytes;
  /** Lease to attach, "0"/absent = none. */
  lease?: string;
  prevKv?: boolean;
  /** Keep the current value (error if the key does not exist). */
  ignoreValue?: boolean;
  /** Keep the current lease (error if the key does not exist). */
  ignoreLease?: boolean;
}

export interface PutResponse {
  header: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Bytes;
  rangeEnd?: Bytes;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export type CompareResult = 'equal' | 'greater' | 'less' | 'not_equal';

/** A transaction guard (etcd's Compare); `target` selects which of the value fields is compared. */
export type Compare = {
  key: Bytes;
  rangeEnd?: Bytes;
  result: CompareResult;
} & (
  | { target: 'version'; version: number }
  | { target: 'create'; createRevision: number }
  | { target: 'mod'; modRevision: number }
  | { target: 'value'; value: Bytes }
  | { target: 'lease'; lease: string }
);

export type RequestOp =
  { range: RangeRequest } | { put: PutRequest } | { deleteRange: DeleteRangeRequest } | { txn: TxnRequest };

export type ResponseOp =
  | { range: RangeResponse }
  | { put: PutResponse }
  | { deleteRange: DeleteRangeResponse }
  | { txn: TxnResponse };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionResponse {
  header: ResponseHeader;
}

export type EventType = 'PUT' | 'DELETE';

export interface Event {
  type: EventType;
  /** For DELETE: the key with modRevision = the deletion revision and an empty value. */
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface WatchRequest {
  key: Bytes;
  rangeEnd?: Bytes;
  /** First revision to deliver (inclusive); 0/absent = only changes after the current revision. */
  startRevision?: number;
  prevKv?: boolean;
  /** Event types NOT to deliver. */
  filters?: Array<'noput' | 'nodelete'>;
  /** Ask for periodic empty responses carrying the current revision. */
  progressNotify?: boolean;
}

/** A batch of watch output. Events are in revision order; one batch never splits a revision. */
export interface WatchResponse {
  header: ResponseHeader;
  events: Event[];
  /**
   * Set (with `canceled`) when `startRevision` is older than the compaction revision:
   * the watcher is cancelled and the caller learns the oldest revision still available.
   */
  compactRevision?: number;
  canceled?: boolean;
  cancelReason?: string;
}

export interface Watcher {
  /** Stop delivering; idempotent. */
  cancel(): Promise<void>;
}

export type WatchListener = (response: WatchResponse) => void;

export interface LeaseGrantResponse {
  header: ResponseHeader;
  id: string;
  /** Granted TTL in seconds. */
  ttl: number;
}

export interface LeaseKeepAliveResponse {
  header: ResponseHeader;
  id: string;
  /** New TTL in seconds; 0 when the lease does not exist (etcd's behaviour). */
  ttl: number;
}

export interface LeaseTimeToLiveResponse {
  header: ResponseHeader;
  id: string;
  /** Remaining seconds; -1 when the lease does not exist or has expired. */
  ttl: number;
  grantedTtl: number;
  keys: Bytes[];
}

export interface Member {
  /** Member ID, decimal uint64 string. */
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface StatusResponse {
  header: ResponseHeader;
  /** Server version string (etcd's cluster version format, e.g. "3.4.0"). */
  version: string;
  /** Bytes used by the backend. */
  dbSize: number;
  /** Member ID of the leader, decimal string. */
  leader: string;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  isLearner: boolean;
  errors: string[];
}

/**
 * The store. Every method may throw `StoreError`; transport adapters map their wire errors onto it.
 */
export interface Store {
  range(req: RangeRequest): Promise<RangeResponse>;
  put(req: PutRequest): Promise<PutResponse>;
  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse>;
  txn(req: TxnRequest): Promise<TxnResponse>;
  /** Discard history before `revision`; later reads at older revisions fail with `compacted`. */
  compact(revision: number, physical?: boolean): Promise<CompactionResponse>;

  /**
   * Start a watch. Resolves once the watch is registered: every change with a revision greater than
   * the revision current at that moment (or from `startRevision`) reaches `listener`, in order.
   */
  watch(req: WatchRequest, listener: WatchListener): Promise<Watcher>;

  /** Grant a lease; `id` "0"/absent lets the store choose. */
  leaseGrant(ttl: number, id?: string): Promise<LeaseGrantResponse>;
  /** Revoke a lease and delete every key attached to it. */
  leaseRevoke(id: string): Promise<{ header: ResponseHeader }>;
  /** Refresh a lease once. */
  leaseKeepAlive(id: string): Promise<LeaseKeepAliveResponse>;
  leaseTimeToLive(id: string, keys?: boolean): Promise<LeaseTimeToLiveResponse>;
  leaseLeases(): Promise<{ header: ResponseHeader; leases: string[] }>;

  memberList(): Promise<{ header: ResponseHeader; members: Member[] }>;
  status(): Promise<StatusResponse>;

  /** Release resources (connections, files). Pending watches are cancelled. */
  close(): Promise<void>;
}
