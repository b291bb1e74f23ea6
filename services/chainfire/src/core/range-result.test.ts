import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyValue, RangeRequest } from '@photoncloud/store';
import { finishRange, materializeLimit } from './range-result.js';
import { normalizeRange } from './requests.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const t = (u: Uint8Array): string => new TextDecoder().decode(u);
// key-ordered, as a scan returns them
const kvs: KeyValue[] = [
  { key: b('a'), value: b('z'), createRevision: 4, modRevision: 9, version: 3, lease: '0' },
  { key: b('b'), value: b('x'), createRevision: 2, modRevision: 2, version: 1, lease: '0' },
  { key: b('c'), value: b('y'), createRevision: 6, modRevision: 7, version: 2, lease: '0' },
  { key: b('d'), value: b('x'), createRevision: 8, modRevision: 8, version: 1, lease: '0' },
];
const run = (req: Omit<RangeRequest, 'key'>): { keys: string[]; more: boolean } => {
  const r = normalizeRange({ key: b('a'), ...req });
  const res = finishRange(kvs.slice(0, Math.min(kvs.length, materializeLimit(r))), r);
  return { keys: res.kvs.map((kv) => t(kv.key)), more: res.more };
};

test('limit and more; materialise only limit+1 when nothing needs the full set', () => {
  assert.deepEqual(run({ limit: 2 }), { keys: ['a', 'b'], more: true });
  assert.deepEqual(run({ limit: 4 }), { keys: ['a', 'b', 'c', 'd'], more: false });
  assert.equal(materializeLimit(normalizeRange({ key: b('a'), limit: 2 })), 3);
  assert.equal(materializeLimit(normalizeRange({ key: b('a'), limit: 2, sortOrder: 'descend' })), Infinity);
  assert.equal(materializeLimit(normalizeRange({ key: b('a'), countOnly: true })), 0);
  assert.deepEqual(run({ countOnly: true, limit: 1 }), { keys: [], more: false });
});

test('sorting by every target, stable on ties; non-key target defaults to ascend', () => {
  assert.deepEqual(run({ sortOrder: 'descend' }).keys, ['d', 'c', 'b', 'a']);
  assert.deepEqual(run({ sortTarget: 'mod' }).keys, ['b', 'c', 'd', 'a']);
  assert.deepEqual(run({ sortTarget: 'create', sortOrder: 'descend' }).keys, ['d', 'c', 'a', 'b']);
  assert.deepEqual(run({ sortTarget: 'version', sortOrder: 'ascend' }).keys, ['b', 'd', 'c', 'a']);
  assert.deepEqual(run({ sortTarget: 'value', sortOrder: 'ascend' }).keys, ['b', 'd', 'c', 'a']);
  assert.deepEqual(run({ sortTarget: 'value', sortOrder: 'descend', limit: 1 }), { keys: ['a'], more: true });
});

test('revision filters apply before limit; keysOnly empties values', () => {
  assert.deepEqual(run({ minModRevision: 7 }).keys, ['a', 'c', 'd']);
  assert.deepEqual(run({ maxModRevision: 7 }).keys, ['b', 'c']);
  assert.deepEqual(run({ minCreateRevision: 4, maxCreateRevision: 6 }).keys, ['a', 'c']);
  assert.deepEqual(run({ minModRevision: 7, limit: 2 }), { keys: ['a', 'c'], more: true });
  const r = normalizeRange({ key: b('a'), keysOnly: true });
  assert.ok(finishRange(kvs, r).kvs.every((kv) => kv.value.length === 0));
});
