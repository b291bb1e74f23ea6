import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalLeaseId,
  decodeKvRecord,
  encodeKvRecord,
  leaseIdFromKey,
  leaseKey,
  parseRevisionKey,
  revisionKey,
} from './kv-record.js';
import type { StoredKv } from './kv-record.js';

const rec = (over: Partial<StoredKv> = {}): StoredKv => ({
  key: new Uint8Array([1, 0, 2]),
  value: new TextEncoder().encode('hello'),
  createRevision: 5,
  modRevision: 2 ** 40 + 7,
  modSub: 3,
  version: 12,
  lease: '0',
  tombstone: false,
  ...over,
});

test('KV records round-trip, including big revisions, negative and max lease IDs, tombstones', () => {
  for (const r of [
    rec(),
    rec({ lease: '9223372036854775807' }),
    rec({ lease: '-5' }),
    rec({ tombstone: true, value: new Uint8Array(0), createRevision: 0, version: 0 }),
    rec({ key: new Uint8Array(1536).fill(0xff), value: new Uint8Array(100000).fill(1) }),
  ]) {
    const d = decodeKvRecord(encodeKvRecord(r));
    assert.deepEqual(
      { ...d, key: [...d.key], value: d.value.length },
      { ...r, key: [...r.key], value: r.value.length },
    );
  }
  assert.throws(() => decodeKvRecord(new Uint8Array(10)));
});

test('revision keys sort in revision order byte-wise', () => {
  const revs: Array<[number, number]> = [
    [1, 0],
    [1, 1],
    [2, 0],
    [255, 0xffffffff],
    [256, 0],
    [2 ** 32, 0],
    [2 ** 53 - 1, 5],
  ];
  const keys = revs.map(([m, s]) => Buffer.from(revisionKey(m, s)));
  const sorted = [...keys].sort(Buffer.compare);
  assert.deepEqual(sorted, keys);
  for (const [m, s] of revs) assert.deepEqual(parseRevisionKey(revisionKey(m, s)), { main: m, sub: s });
});

test('lease IDs: canonical decimal int64 only; keys round-trip', () => {
  assert.equal(canonicalLeaseId('007'), '7');
  assert.equal(canonicalLeaseId('-9223372036854775808'), '-9223372036854775808');
  assert.equal(canonicalLeaseId('9223372036854775808'), undefined);
  assert.equal(canonicalLeaseId('12a'), undefined);
  assert.equal(canonicalLeaseId(''), undefined);
  assert.equal(canonicalLeaseId('1e3'), undefined);
  for (const id of ['1', '694d77a2b1c3e0f1'.length.toString(), '9223372036854775807', '-1']) {
    assert.equal(leaseIdFromKey(leaseKey(id)), id);
  }
});
