/**
 * Txn compare evaluation with etcd's rules: the compare holds when it holds for every key in its
 * range; with no key in range, a value compare fails and the others compare against an all-zero
 * KeyValue (version 0, revisions 0, lease 0), which is how "key does not exist" is tested.
 */
import { compareBytes } from '@photoncloud/store';
import type { CompareResult, KeyValue } from '@photoncloud/store';
import type { NormCompare } from './requests.js';

function outcome(cmp: number, result: CompareResult): boolean {
  switch (result) {
    case 'equal':
      return cmp === 0;
    case 'not_equal':
      return cmp !== 0;
    case 'greater':
      return cmp > 0;
    case 'less':
      return cmp < 0;
  }
}

function sign(n: number | bigint): number {
  return n > 0 ? 1 : n < 0 ? -1 : 0;
}

/** Compare one key's state (`kv.field` OP `operand`); `kv` undefined = the key does not exist. */
export function compareOne(c: NormCompare, kv: KeyValue | undefined): boolean {
  if (kv === undefined && c.target === 'value') return false;
  const k = kv ?? {
    key: c.key,
    value: new Uint8Array(0),
    createRevision: 0,
    modRevision: 0,
    version: 0,
    lease: '0',
  };
  switch (c.target) {
    case 'version':
      return outcome(sign(k.version - (c.operand as number)), c.result);
    case 'create':
      return outcome(sign(k.createRevision - (c.operand as number)), c.result);
    case 'mod':
      return outcome(sign(k.modRevision - (c.operand as number)), c.result);
    case 'value':
      return outcome(sign(compareBytes(k.value, c.operand as Uint8Array)), c.result);
    case 'lease':
      return outcome(sign(BigInt(k.lease) - BigInt(c.operand as string)), c.result);
  }
}

/** Evaluate a compare against the live keys in its range (at the txn's read revision). */
export function compareHolds(c: NormCompare, kvs: KeyValue[]): boolean {
  if (kvs.length === 0) return compareOne(c, undefined);
  return kvs.every((kv) => compareOne(c, kv));
}
