/**
 * Request checks etcd's API layer performs before a request reaches the store, with etcd's errors:
 * empty keys, ignore_value/ignore_lease misuse, too many txn operations, empty txn operations and
 * keys written twice by one transaction.
 */
import { status } from '@grpc/grpc-js';
import type * as pb from '@photoncloud/etcd-proto';
import { StoreError, compareBytes } from '@photoncloud/store';
import { EtcdGrpcError } from './grpc-errors.js';

/** etcd's default --max-txn-ops. */
export const MAX_TXN_OPS = 128;

/** A range needs a key. */
export function checkRange(r: pb.RangeRequest): void {
  if (r.key.length === 0) throw new StoreError('emptyKey');
}

/** A put needs a key, and may not carry a value (lease) it asks to keep. */
export function checkPut(r: pb.PutRequest): void {
  if (r.key.length === 0) throw new StoreError('emptyKey');
  if (r.ignore_value && r.value.length !== 0) throw new StoreError('valueProvided');
  if (r.ignore_lease && r.lease !== '0') throw new StoreError('leaseProvided');
}

/** A delete needs a key. */
export function checkDelete(r: pb.DeleteRangeRequest): void {
  if (r.key.length === 0) throw new StoreError('emptyKey');
}

const COMPARE_RESULTS = new Set(['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL']);
const COMPARE_TARGETS = new Set(['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE']);

/** Operation counts, every nested operation, and no key written twice per branch. */
export function checkTxn(r: pb.TxnRequest, maxOps = MAX_TXN_OPS): void {
  checkTxnOps(r, maxOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxnOps(r: pb.TxnRequest, maxOps: number): void {
  // The widest of the three lists counts; nested transactions share what is left of the budget.
  const width = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (width > maxOps) throw new StoreError('tooManyOps');
  for (const c of r.compare) {
    if (c.key.length === 0) throw new StoreError('emptyKey');
    if (!COMPARE_RESULTS.has(String(c.result)) || !COMPARE_TARGETS.has(String(c.target))) {
      throw new EtcdGrpcError(status.INVALID_ARGUMENT, 'etcdserver: unknown compare result or target');
    }
  }
  for (const op of [...r.success, ...r.failure]) checkOp(op, maxOps - width);
}

function checkOp(op: pb.RequestOp, maxOps: number): void {
  if (op.request_range) return checkRange(op.request_range);
  if (op.request_put) return checkPut(op.request_put);
  if (op.request_delete_range) return checkDelete(op.request_delete_range);
  if (op.request_txn) return checkTxnOps(op.request_txn, maxOps);
  // An op with nothing set: etcd answers this (odd but exact) error.
  throw new StoreError('keyNotFound');
}

/** A deleted interval [start, end) — or the single key `start` when `end` is undefined. */
interface Interval {
  start: Buffer;
  end?: Buffer;
}

function deletes(iv: Interval[], key: Buffer): boolean {
  // etcd compares interval ends as plain byte strings, so an end of "\0" covers nothing here.
  return iv.some((d) =>
    d.end === undefined
      ? compareBytes(d.start, key) === 0
      : compareBytes(d.start, key) <= 0 && compareBytes(key, d.end) < 0,
  );
}

/**
 * One transaction branch may not write a key twice, nor put a key it also deletes. Nested
 * transactions contribute their puts and deletes; a key put by both branches of the same nested
 * transaction is fine, since only one of them runs. Returns this branch's puts and deletes.
 */
function checkIntervals(ops: pb.RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    const d = op.request_delete_range;
    if (d) dels.push(d.range_end.length > 0 ? { start: d.key, end: d.range_end } : { start: d.key });
  }
  const puts = new Set<string>();
  const keyOf = (s: string) => Buffer.from(s, 'latin1');
  for (const op of ops) {
    if (!op.request_txn) continue;
    const then = checkIntervals(op.request_txn.success);
    const other = checkIntervals(op.request_txn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deletes(dels, keyOf(k))) throw new StoreError('duplicateKey');
      puts.add(k);
    }
    for (const k of other.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw new StoreError('duplicateKey');
      if (deletes(dels, keyOf(k))) throw new StoreError('duplicateKey');
      puts.add(k);
    }
    dels.push(...then.dels, ...other.dels);
  }
  for (const op of ops) {
    const p = op.request_put;
    if (!p) continue;
    const k = p.key.toString('latin1');
    if (puts.has(k) || deletes(dels, p.key)) throw new StoreError('duplicateKey');
    puts.add(k);
  }
  return { puts, dels };
}
