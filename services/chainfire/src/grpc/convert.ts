/**
 * Conversions between the etcd wire messages (as @photoncloud/etcd-proto decodes them) and the Store's
 * request/response types. Decoded requests always carry every scalar (defaults), so "absent" on the wire
 * and "zero" are the same thing, exactly as in etcd.
 */
import type * as pb from '@photoncloud/etcd-proto';
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
  WatchRequest,
} from '@photoncloud/store';
import { API_ERRORS } from './grpc-errors.js';

type Out<T> = pb.Outgoing<T>;

const EMPTY = Buffer.alloc(0);

/** Decimal int64 string → JS number (revisions, counts, TTLs: all far below 2^53). */
export function num(v: string | number | undefined | null): number {
  if (v === undefined || v === null || v === '') return 0;
  return typeof v === 'number' ? v : Number(v);
}

/** Bytes field → value, with empty meaning "not given". */
function opt(b: Buffer | undefined): Buffer | undefined {
  return b && b.length > 0 ? b : undefined;
}

/** Store header → wire header. */
export function headerToWire(h: ResponseHeader): Out<pb.ResponseHeader> {
  return { cluster_id: h.clusterId, member_id: h.memberId, revision: h.revision, raft_term: h.raftTerm };
}

/** Store key-value → mvccpb.KeyValue. */
export function kvToWire(kv: KeyValue): Out<pb.KeyValue> {
  return {
    key: kv.key,
    value: kv.value,
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

const SORT_ORDERS: Record<string, SortOrder> = { NONE: 'none', ASCEND: 'ascend', DESCEND: 'descend' };
const SORT_TARGETS: Record<string, SortTarget> = {
  KEY: 'key',
  VERSION: 'version',
  CREATE: 'create',
  MOD: 'mod',
  VALUE: 'value',
};

/** RangeRequest → Store range request (zero and empty mean "not given", as in etcd). */
export function rangeFromWire(r: pb.RangeRequest): RangeRequest {
  // An enum value outside the protocol decodes as its number; etcd refuses those.
  const sortOrder = SORT_ORDERS[String(r.sort_order)];
  const sortTarget = SORT_TARGETS[String(r.sort_target)];
  if (!sortOrder || !sortTarget) throw API_ERRORS.invalidSortOption();
  const out: RangeRequest = { key: r.key };
  const end = opt(r.range_end);
  if (end) out.rangeEnd = end;
  // etcd reads limit <= 0 as "no limit" and revision <= 0 as "newest".
  if (num(r.limit) > 0) out.limit = num(r.limit);
  if (num(r.revision) > 0) out.revision = num(r.revision);
  if (sortOrder !== 'none') out.sortOrder = sortOrder;
  if (sortTarget !== 'key') out.sortTarget = sortTarget;
  if (r.serializable) out.serializable = true;
  if (r.keys_only) out.keysOnly = true;
  if (r.count_only) out.countOnly = true;
  if (num(r.min_mod_revision) > 0) out.minModRevision = num(r.min_mod_revision);
  if (num(r.max_mod_revision) > 0) out.maxModRevision = num(r.max_mod_revision);
  if (num(r.min_create_revision) > 0) out.minCreateRevision = num(r.min_create_revision);
  if (num(r.max_create_revision) > 0) out.maxCreateRevision = num(r.max_create_revision);
  return out;
}

/** Store range response → RangeResponse. */
export function rangeToWire(r: RangeResponse): Out<pb.RangeResponse> {
  return { header: headerToWire(r.header), kvs: r.kvs.map(kvToWire), more: r.more, count: r.count };
}

/** PutRequest → Store put request. */
export function putFromWire(r: pb.PutRequest): PutRequest {
  const out: PutRequest = { key: r.key, value: r.value ?? EMPTY };
  if (r.lease && r.lease !== '0') out.lease = r.lease;
  if (r.prev_kv) out.prevKv = true;
  if (r.ignore_value) out.ignoreValue = true;
  if (r.ignore_lease) out.ignoreLease = true;
  return out;
}

/** Store put response → PutResponse. */
export function putToWire(r: PutResponse): Out<pb.PutResponse> {
  return r.prevKv
    ? { header: headerToWire(r.header), prev_kv: kvToWire(r.prevKv) }
    : { header: headerToWire(r.header) };
}

/** DeleteRangeRequest → Store delete request. */
export function deleteFromWire(r: pb.DeleteRangeRequest): DeleteRangeRequest {
  const out: DeleteRangeRequest = { key: r.key };
  const end = opt(r.range_end);
  if (end) out.rangeEnd = end;
  if (r.prev_kv) out.prevKv = true;
  return out;
}

/** Store delete response → DeleteRangeResponse. */
export function deleteToWire(r: DeleteRangeResponse): Out<pb.DeleteRangeResponse> {
  return { header: headerToWire(r.header), deleted: r.deleted, prev_kvs: r.prevKvs.map(kvToWire) };
}

const RESULTS: Record<string, Compare['result']> = {
  EQUAL: 'equal',
  GREATER: 'greater',
  LESS: 'less',
  NOT_EQUAL: 'not_equal',
};

/** Compare → Store compare. */
export function compareFromWire(c: pb.Compare): Compare {
  // Unknown results and targets are refused by validate.ts before conversion.
  const result = RESULTS[String(c.result)] ?? 'equal';
  const base = { key: c.key, result, ...(opt(c.range_end) ? { rangeEnd: c.range_end } : {}) };
  // A target whose union member is missing compares against the zero value, as etcd does.
  switch (String(c.target)) {
    case 'VERSION':
      return { ...base, target: 'version', version: num(c.version) };
    case 'CREATE':
      return { ...base, target: 'create', createRevision: num(c.create_revision) };
    case 'MOD':
      return { ...base, target: 'mod', modRevision: num(c.mod_revision) };
    case 'VALUE':
      return { ...base, target: 'value', value: c.value ?? EMPTY };
    case 'LEASE':
      return { ...base, target: 'lease', lease: c.lease ?? '0' };
    default:
      return { ...base, target: 'version', version: num(c.version) };
  }
}

/** RequestOp → Store op. */
export function opFromWire(op: pb.RequestOp): RequestOp {
  if (op.request_range) return { range: rangeFromWire(op.request_range) };
  if (op.request_put) return { put: putFromWire(op.request_put) };
  if (op.request_delete_range) return { deleteRange: deleteFromWire(op.request_delete_range) };
  if (op.request_txn) return { txn: txnFromWire(op.request_txn) };
  // validate.ts refuses empty ops before conversion.
  throw new Error('empty request op');
}

/** TxnRequest → Store txn request. */
export function txnFromWire(t: pb.TxnRequest): TxnRequest {
  return {
    compare: t.compare.map(compareFromWire),
    success: t.success.map(opFromWire),
    failure: t.failure.map(opFromWire),
  };
}

/**
 * etcd's responses nested in a txn carry a header with only the txn's revision; a nested txn's own
 * header is empty. Reproduced exactly, since clients print what they get.
 */
function responseOpToWire(r: ResponseOp, revision: number): Out<pb.ResponseOp> {
  const header = { revision };
  if ('range' in r) return { response_range: { ...rangeToWire(r.range), header } };
  if ('put' in r) return { response_put: { ...putToWire(r.put), header } };
  if ('deleteRange' in r) return { response_delete_range: { ...deleteToWire(r.deleteRange), header } };
  return {
    response_txn: {
      header: {},
      succeeded: r.txn.succeeded,
      responses: r.txn.responses.map((x) => responseOpToWire(x, revision)),
    },
  };
}

/** Store txn response → TxnResponse, with etcd's nested headers. */
export function txnToWire(t: TxnResponse): Out<pb.TxnResponse> {
  return {
    header: headerToWire(t.header),
    succeeded: t.succeeded,
    responses: t.responses.map((r) => responseOpToWire(r, t.header.revision)),
  };
}

/** Store event → mvccpb.Event; prev_kv only when the watcher asked for it. */
export function eventToWire(e: Event, withPrev: boolean): Out<pb.Event> {
  const out: Out<pb.Event> = { type: e.type, kv: kvToWire(e.kv) };
  if (withPrev && e.prevKv) out.prev_kv = kvToWire(e.prevKv);
  return out;
}

/** The Store form of a watch creation (key and range_end already normalised as etcd does). */
export function watchFromWire(c: pb.WatchCreateRequest, startRevision: number): WatchRequest {
  const out: WatchRequest = { key: c.key, startRevision };
  const end = opt(c.range_end);
  if (end) out.rangeEnd = end;
  if (c.prev_kv) out.prevKv = true;
  if (c.progress_notify) out.progressNotify = true;
  const filters = c.filters
    .map((f) => (String(f) === 'NOPUT' ? 'noput' : String(f) === 'NODELETE' ? 'nodelete' : undefined))
    .filter((f): f is 'noput' | 'nodelete' => f !== undefined);
  if (filters.length > 0) out.filters = filters;
  return out;
}
