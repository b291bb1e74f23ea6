import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError } from '@photoncloud/store';
import type { RequestOp, StoreErrorKind, TxnRequest } from '@photoncloud/store';
import { isTxnReadOnly, normalizeDelete, normalizePut, normalizeRange, normalizeTxn } from './requests.js';
import { MAX_KEY_BYTES } from './limits.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const put = (k: string): RequestOp => ({ put: { key: b(k), value: b('v') } });
const del = (k: string, end?: string): RequestOp => ({
  deleteRange: end === undefined ? { key: b(k) } : { key: b(k), rangeEnd: b(end) },
});
const txn = (success: RequestOp[], failure: RequestOp[] = []): RequestOp => ({
  txn: { compare: [], success, failure },
});

function throwsKind(fn: () => unknown, kind: StoreErrorKind): void {
  assert.throws(fn, (e: unknown) => e instanceof StoreError && e.kind === kind);
}

test('put validation in etcd order; defaults; owned bytes', () => {
  throwsKind(() => normalizePut({ key: new Uint8Array(0), value: b('x') }), 'emptyKey');
  throwsKind(() => normalizePut({ key: new Uint8Array(MAX_KEY_BYTES + 1), value: b('x') }), 'keyTooLarge');
  throwsKind(() => normalizePut({ key: b('k'), value: b('x'), ignoreValue: true }), 'valueProvided');
  throwsKind(
    () => normalizePut({ key: b('k'), value: new Uint8Array(0), lease: '5', ignoreLease: true }),
    'leaseProvided',
  );
  throwsKind(() => normalizePut({ key: b('k'), value: b('x'), lease: 'abc' }), 'leaseNotFound');
  const key = b('k');
  const p = normalizePut({ key, value: b('x'), lease: '007' });
  key[0] = 0;
  assert.deepEqual(p, {
    key: b('k'),
    value: b('x'),
    lease: '7',
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
  });
  assert.equal(
    normalizePut({ key: new Uint8Array(MAX_KEY_BYTES).fill(1), value: b('') }).key.length,
    MAX_KEY_BYTES,
  );
  assert.throws(() => normalizePut({ key: 'str' as unknown as Uint8Array, value: b('x') }), TypeError);
});

test('range and delete defaults and validation', () => {
  throwsKind(() => normalizeRange({ key: new Uint8Array(0) }), 'emptyKey');
  throwsKind(() => normalizeDelete({ key: new Uint8Array(0), rangeEnd: b('z') }), 'emptyKey');
  const r = normalizeRange({ key: b('a'), limit: -3, revision: -1 });
  assert.equal(r.limit, 0);
  assert.equal(r.revision, 0);
  assert.equal(r.sortOrder, 'none');
  assert.equal(r.sortTarget, 'key');
  assert.throws(() => normalizeRange({ key: b('a'), sortOrder: 'sideways' as never }), TypeError);
  assert.throws(() => normalizeRange({ key: b('a'), limit: Number.NaN }), TypeError);
});

test('txn: op count per level, compare keys, nested validation', () => {
  const many = Array.from({ length: 129 }, (_, i) => put(`k${i}`));
  throwsKind(() => normalizeTxn({ compare: [], success: many, failure: [] }), 'tooManyOps');
  const exactly = Array.from({ length: 128 }, (_, i) => put(`k${i}`));
  assert.equal(normalizeTxn({ compare: [], success: exactly, failure: exactly }).success.length, 128);
  throwsKind(() => normalizeTxn({ compare: [], success: [txn(many)], failure: [] }), 'tooManyOps');
  throwsKind(
    () =>
      normalizeTxn({
        compare: [{ key: new Uint8Array(0), target: 'version', result: 'equal', version: 0 }],
        success: [],
        failure: [],
      }),
    'emptyKey',
  );
  throwsKind(
    () => normalizeTxn({ compare: [], success: [txn([{ range: { key: new Uint8Array(0) } }])], failure: [] }),
    'emptyKey',
  );
  // tooManyOps is reported before an empty key later in the same level (etcd's order).
  throwsKind(
    () =>
      normalizeTxn({
        compare: [],
        success: [{ put: { key: new Uint8Array(0), value: b('') } }, ...many],
        failure: [],
      }),
    'tooManyOps',
  );
});

test('txn duplicate-key rules (etcd)', () => {
  const ok = (success: RequestOp[], failure: RequestOp[] = []): void => {
    normalizeTxn({ compare: [], success, failure });
  };
  const dup = (success: RequestOp[], failure: RequestOp[] = []): void =>
    throwsKind(() => normalizeTxn({ compare: [], success, failure } as TxnRequest), 'duplicateKey');
  dup([put('a'), put('a')]);
  ok([put('a')], [put('a')]); // different branches of the same txn
  dup([put('b'), del('a', 'c')]);
  dup([del('b'), put('b')]);
  ok([put('c'), del('a', 'c')]); // end is exclusive
  dup([put('x'), del('a', '\0')]); // from-key delete covers everything after
  dup([txn([put('a')]), put('a')]);
  dup([txn([put('a')]), txn([put('a')])]);
  ok([txn([put('a')], [put('a')])]); // then/else of one nested txn are exclusive
  dup([del('a'), txn([put('a')])]);
  dup([txn([del('a')]), put('a')]);
  ok([del('a'), del('a')]); // deleting twice is allowed
  ok([put('a'), { range: { key: b('a') } }]);
});

test('read-only detection looks into nested txns', () => {
  const ro = normalizeTxn({
    compare: [],
    success: [{ range: { key: b('a') } }, txn([{ range: { key: b('b') } }])],
    failure: [],
  });
  assert.equal(isTxnReadOnly(ro), true);
  const rw = normalizeTxn({ compare: [], success: [], failure: [txn([], [put('z')])] });
  assert.equal(isTxnReadOnly(rw), false);
});
