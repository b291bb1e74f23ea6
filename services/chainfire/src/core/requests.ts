/**
 * Request validation and normalisation, before anything reaches the log. A normalised request has
 * every field filled in with etcd's default, owns its bytes, and is checked the way etcd's API layer
 * checks it (empty key, too many txn ops, duplicate keys in a txn branch, ignore_value/ignore_lease
 * conflicts), in etcd's order so that the first error reported is etcd's.
 *
 * Inputs the TypeScript types already exclude (a key that is not bytes, an unknown sort order) are
 * programming errors of the caller (the gRPC and REST layers validate shapes) and throw TypeError.
 */
import { StoreError } from '@photoncloud/store';
import type {
  Compare,
  CompareResult,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from '@photoncloud/store';
import { MAX_KEY_BYTES, MAX_TXN_OPS } from './limits.js';
import { intervalContains, toInterval } from './key-range.js';
import type { KeyInterval } from './key-range.js';
import { canonicalLeaseId } from './kv-record.js';

/** A put with defaults applied. */
export interface NormPut {
  key: Uint8Array;
  value: Uint8Array;
  /** Canonical decimal lease ID, "0" for none; may be a syntactically valid but unknown lease. */
  lease: string;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

/** A range with defaults applied. */
export interface NormRange {
  key: Uint8Array;
  /** Empty = single key. */
  rangeEnd: Uint8Array;
  limit: number;
  revision: number;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}

export interface NormDelete {
  key: Uint8Array;
  rangeEnd: Uint8Array;
  prevKv: boolean;
}

export type CompareTarget = Compare['target'];

/** A compare with its operand in one field (`operand` is a number, bytes or a lease ID string). */
export interface NormCompare {
  key: Uint8Array;
  rangeEnd: Uint8Array;
  result: CompareResult;
  target: CompareTarget;
  /** version / create / mod: a number; value: bytes; lease: canonical decimal string. */
  operand: number | Uint8Array | string;
}

export type NormOp = { range: NormRange } | { put: NormPut } | { deleteRange: NormDelete } | { txn: NormTxn };

export interface NormTxn {
  compare: NormCompare[];
  success: NormOp[];
  failure: NormOp[];
}

const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];
const RESULTS: readonly CompareResult[] = ['equal', 'greater', 'less', 'not_equal'];
const EMPTY = new Uint8Array(0);

/** Bytes or absent (absent = empty, which is what protobuf makes of a missing bytes field). */
function bytesField(v: unknown, field: string): Uint8Array {
  if (v === undefined || v === null) return EMPTY;
  if (v instanceof Uint8Array) return v;
  throw new TypeError(`${field} must be bytes (Uint8Array)`);
}

/** Copy into a fresh array so later mutation by the caller cannot change a queued request. */
function own(b: Uint8Array): Uint8Array {
  return b.length === 0 ? EMPTY : Uint8Array.prototype.slice.call(b);
}

function intField(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${field} must be a finite number`);
  return Math.trunc(v);
}

function boolField(v: unknown): boolean {
  return v === true;
}

function leaseField(v: unknown, field: string): string {
  if (v === undefined || v === null || v === '') return '0';
  if (typeof v !== 'string') throw new TypeError(`${field} must be a decimal lease ID string`);
  const id = canonicalLeaseId(v);
  // A malformed ID names no lease: answer as etcd answers an unknown one.
  if (id === undefined) throw new StoreError('leaseNotFound');
  return id;
}

function requireKey(key: Uint8Array): void {
  if (key.length === 0) throw new StoreError('emptyKey');
}

/** Validate and normalise a put. */
export function normalizePut(req: PutRequest): NormPut {
  const key = bytesField(req.key, 'key');
  requireKey(key);
  if (key.length > MAX_KEY_BYTES) throw new StoreError('keyTooLarge');
  const value = bytesField(req.value, 'value');
  const ignoreValue = boolField(req.ignoreValue);
  const ignoreLease = boolField(req.ignoreLease);
  const lease = leaseField(req.lease, 'lease');
  if (ignoreValue && value.length !== 0) throw new StoreError('valueProvided');
  if (ignoreLease && lease !== '0') throw new StoreError('leaseProvided');
  return { key: own(key), value: own(value), lease, prevKv: boolField(req.prevKv), ignoreValue, ignoreLease };
}

/** Validate and normalise a range. */
export function normalizeRange(req: RangeRequest): NormRange {
  const key = bytesField(req.key, 'key');
  requireKey(key);
  const sortOrder = req.sortOrder ?? 'none';
  const sortTarget = req.sortTarget ?? 'key';
  if (!SORT_ORDERS.includes(sortOrder)) throw new TypeError(`invalid sortOrder ${String(sortOrder)}`);
  if (!SORT_TARGETS.includes(sortTarget)) throw new TypeError(`invalid sortTarget ${String(sortTarget)}`);
  return {
    key: own(key),
    rangeEnd: own(bytesField(req.rangeEnd, 'rangeEnd')),
    limit: Math.max(0, intField(req.limit, 'limit')),
    revision: Math.max(0, intField(req.revision, 'revision')),
    sortOrder,
    sortTarget,
    serializable: boolField(req.serializable),
    keysOnly: boolField(req.keysOnly),
    countOnly: boolField(req.countOnly),
    minModRevision: Math.max(0, intField(req.minModRevision, 'minModRevision')),
    maxModRevision: Math.max(0, intField(req.maxModRevision, 'maxModRevision')),
    minCreateRevision: Math.max(0, intField(req.minCreateRevision, 'minCreateRevision')),
    maxCreateRevision: Math.max(0, intField(req.maxCreateRevision, 'maxCreateRevision')),
  };
}

/** Validate and normalise a delete-range. */
export function normalizeDelete(req: DeleteRangeRequest): NormDelete {
  const key = bytesField(req.key, 'key');
  requireKey(key);
  return {
    key: own(key),
    rangeEnd: own(bytesField(req.rangeEnd, 'rangeEnd')),
    prevKv: boolField(req.prevKv),
  };
}

function normalizeCompare(c: Compare): NormCompare {
  const key = bytesField(c.key, 'compare.key');
  requireKey(key);
  if (!RESULTS.includes(c.result)) throw new TypeError(`invalid compare result ${String(c.result)}`);
  let operand: number | Uint8Array | string;
  switch (c.target) {
    case 'version':
      operand = intField(c.version, 'compare.version');
      break;
    case 'create':
      operand = intField(c.createRevision, 'compare.createRevision');
      break;
    case 'mod':
      operand = intField(c.modRevision, 'compare.modRevision');
      break;
    case 'value':
      operand = own(bytesField(c.value, 'compare.value'));
      break;
    case 'lease': {
      const v = c.lease as unknown;
      if (v !== undefined && typeof v !== 'string')
        throw new TypeError('compare.lease must be a decimal string');
      const id = canonicalLeaseId(v === undefined || v === '' ? '0' : v);
      if (id === undefined) throw new TypeError(`compare.lease ${String(v)} is not a decimal int64`);
      operand = id;
      break;
    }
    default:
      throw new TypeError(`invalid compare target ${String((c as { target: unknown }).target)}`);
  }
  return {
    key: own(key),
    rangeEnd: own(bytesField(c.rangeEnd, 'compare.rangeEnd')),
    result: c.result,
    target: c.target,
    operand,
  };
}

function normalizeOp(op: RequestOp, maxOps: number): NormOp {
  if ('range' in op && op.range) return { range: normalizeRange(op.range) };
  if ('put' in op && op.put) return { put: normalizePut(op.put) };
  if ('deleteRange' in op && op.deleteRange) return { deleteRange: normalizeDelete(op.deleteRange) };
  if ('txn' in op && op.txn) return { txn: normalizeTxnLevel(op.txn, maxOps) };
  throw new TypeError('a txn operation must have one of range, put, deleteRange or txn');
}

function normalizeTxnLevel(req: TxnRequest, maxOps: number): NormTxn {
  const compare = req.compare ?? [];
  const success = req.success ?? [];
  const failure = req.failure ?? [];
  if (!Array.isArray(compare) || !Array.isArray(success) || !Array.isArray(failure)) {
    throw new TypeError('txn compare, success and failure must be arrays');
  }
  if (Math.max(compare.length, success.length, failure.length) > maxOps) throw new StoreError('tooManyOps');
  // etcd's order: compares' keys first, then each branch's operations (recursively).
  const cmps = compare.map(normalizeCompare);
  return {
    compare: cmps,
    success: success.map((op) => normalizeOp(op, maxOps)),
    failure: failure.map((op) => normalizeOp(op, maxOps)),
  };
}

/** Validate and normalise a txn, including etcd's duplicate-key rules for each branch. */
export function normalizeTxn(req: TxnRequest, maxOps = MAX_TXN_OPS): NormTxn {
  const txn = normalizeTxnLevel(req, maxOps);
  checkDuplicates(txn.success);
  checkDuplicates(txn.failure);
  return txn;
}

/** Key of a put, as a map key. */
function hexKey(k: Uint8Array): string {
  let s = '';
  for (const b of k) s += b.toString(16).padStart(2, '0');
  return s;
}

function hexToBytes(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function deletesCover(dels: KeyInterval[], hk: string): boolean {
  const k = hexToBytes(hk);
  return dels.some((iv) => intervalContains(iv, k));
}

/**
 * etcd's rule: within one branch, a key may be put at most once and may not be both put and
 * deleted. Nested txns count toward their parent's branch; the success and failure branches of one
 * nested txn may put the same key (only one of them runs). Returns this level's puts and deletes.
 */
function checkDuplicates(ops: NormOp[]): { puts: Set<string>; dels: KeyInterval[] } {
  const dels: KeyInterval[] = [];
  for (const op of ops) {
    if ('deleteRange' in op) dels.push(toInterval(op.deleteRange.key, op.deleteRange.rangeEnd));
  }
  const puts = new Set<string>();
  for (const op of ops) {
    if (!('txn' in op)) continue;
    const then = checkDuplicates(op.txn.success);
    const otherwise = checkDuplicates(op.txn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deletesCover(dels, k)) throw new StoreError('duplicateKey');
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw new StoreError('duplicateKey');
      if (deletesCover(dels, k)) throw new StoreError('duplicateKey');
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (!('put' in op)) continue;
    const k = hexKey(op.put.key);
    if (puts.has(k) || deletesCover(dels, k)) throw new StoreError('duplicateKey');
    puts.add(k);
  }
  return { puts, dels };
}

/** True when no branch at any depth writes: such a txn is served without going through the log. */
export function isTxnReadOnly(txn: NormTxn): boolean {
  const ro = (ops: NormOp[]): boolean =>
    ops.every((op) => ('range' in op ? true : 'txn' in op ? isTxnReadOnly(op.txn) : false));
  return ro(txn.success) && ro(txn.failure);
}
