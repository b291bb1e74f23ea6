import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as pb from '@photoncloud/etcd-proto';
import { crc32c } from './crc32c.js';
import { checkTxn } from './validate.js';

const b = (s: string) => Buffer.from(s);
const put = (k: string): pb.RequestOp => ({
  request_put: {
    key: b(k),
    value: b('v'),
    lease: '0',
    prev_kv: false,
    ignore_value: false,
    ignore_lease: false,
  },
});
const del = (k: string, end = ''): pb.RequestOp => ({
  request_delete_range: { key: b(k), range_end: b(end), prev_kv: false },
});
const txn = (success: pb.RequestOp[], failure: pb.RequestOp[] = []): pb.RequestOp => ({
  request_txn: { compare: [], success, failure },
});
const kind = (f: () => void) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as { kind?: string }).kind ?? (e as Error).message;
  }
};
const check = (success: pb.RequestOp[], failure: pb.RequestOp[] = []) =>
  kind(() => checkTxn({ compare: [], success, failure }));

test('a branch may not write a key twice or put a key it deletes', () => {
  assert.equal(check([put('a'), put('b')]), 'ok');
  assert.equal(check([put('a'), put('a')]), 'duplicateKey');
  assert.equal(check([put('b'), del('a', 'c')]), 'duplicateKey');
  assert.equal(check([put('c'), del('a', 'c')]), 'ok');
  assert.equal(check([put('a'), del('a')]), 'duplicateKey');
  // Each branch is checked on its own: success and failure never both run.
  assert.equal(check([put('a')], [put('a')]), 'ok');
});

test('nested transactions: both branches may put the same key, the enclosing branch may not', () => {
  assert.equal(check([txn([put('n')], [put('n')])]), 'ok');
  assert.equal(check([txn([put('n')]), put('n')]), 'duplicateKey');
  assert.equal(check([txn([put('n')]), txn([put('n')])]), 'duplicateKey');
  assert.equal(check([del('m', 'o'), txn([put('n')])]), 'duplicateKey');
  assert.equal(check([txn([del('m', 'o')]), put('n')]), 'duplicateKey');
  assert.equal(check([txn([put('a'), put('a')])]), 'duplicateKey');
});

test('operation limits and empty operations', () => {
  assert.equal(check(Array.from({ length: 128 }, (_, i) => put(`k${i}`))), 'ok');
  assert.equal(check(Array.from({ length: 129 }, (_, i) => put(`k${i}`))), 'tooManyOps');
  assert.equal(check([{}]), 'keyNotFound');
  assert.equal(check([put('')]), 'emptyKey');
  assert.equal(check([txn([del('')])]), 'emptyKey');
});

test('crc32c matches the Castagnoli check value and chains', () => {
  assert.equal(crc32c(b('123456789')), 0xe3069283);
  assert.equal(crc32c(b('56789'), crc32c(b('1234'))), 0xe3069283);
  assert.equal(crc32c(b('')), 0);
});
