import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLinearizable, kvModel } from './linearizability.js';
import type { KvInput, KvOutput, Operation } from './linearizability.js';

type Op = Operation<KvInput, KvOutput>;

const put = (clientId: number, key: string, value: string, call: number, ret: number): Op => ({
  clientId,
  input: { kind: 'put', key, value },
  output: {},
  call,
  ret,
});
const get = (clientId: number, key: string, value: string | null, call: number, ret: number): Op => ({
  clientId,
  input: { kind: 'get', key },
  output: { value },
  call,
  ret,
});

test('sequential history: reads see the last write', () => {
  const h = [put(1, 'x', 'a', 0, 1), get(2, 'x', 'a', 2, 3), put(1, 'x', 'b', 4, 5), get(2, 'x', 'b', 6, 7)];
  assert.equal(checkLinearizable(kvModel, h).result, 'ok');
});

test('a stale read after a completed write is rejected', () => {
  const h = [put(1, 'x', 'a', 0, 1), put(1, 'x', 'b', 2, 3), get(2, 'x', 'a', 4, 5)];
  const r = checkLinearizable(kvModel, h);
  assert.equal(r.result, 'illegal');
  assert.equal(r.failedPartition, 0);
});

test('a read of a value never written is rejected', () => {
  assert.equal(checkLinearizable(kvModel, [get(1, 'x', 'ghost', 0, 1)]).result, 'illegal');
  assert.equal(checkLinearizable(kvModel, [get(1, 'x', null, 0, 1)]).result, 'ok');
});

test('concurrent write: a read overlapping it may see either value', () => {
  const old = [put(1, 'x', 'a', 0, 1), put(1, 'x', 'b', 2, 10), get(2, 'x', 'a', 3, 4)];
  const fresh = [put(1, 'x', 'a', 0, 1), put(1, 'x', 'b', 2, 10), get(2, 'x', 'b', 3, 4)];
  assert.equal(checkLinearizable(kvModel, old).result, 'ok');
  assert.equal(checkLinearizable(kvModel, fresh).result, 'ok');
});

test('two readers must agree on the order of concurrent writes (new-old inversion is rejected)', () => {
  // Writes a and b overlap; reader 3 sees b then a, reader 4 sees a then b, with reads ordered in
  // real time: no single order of the writes explains both.
  const h = [
    put(1, 'x', 'a', 0, 100),
    put(2, 'x', 'b', 0, 100),
    get(3, 'x', 'b', 10, 11),
    get(3, 'x', 'a', 12, 13),
    get(4, 'x', 'a', 14, 15),
    get(4, 'x', 'b', 16, 17),
  ];
  assert.equal(checkLinearizable(kvModel, h).result, 'illegal');
  // Without the last read it is fine: b, then a.
  assert.equal(checkLinearizable(kvModel, h.slice(0, 5)).result, 'ok');
});

test('once a read saw the new value, a later read may not see the old one', () => {
  const h = [put(1, 'x', 'a', 0, 1), put(1, 'x', 'b', 2, 50), get(2, 'x', 'b', 5, 6), get(3, 'x', 'a', 7, 8)];
  assert.equal(checkLinearizable(kvModel, h).result, 'illegal');
});

test('a pending write may or may not have taken effect', () => {
  const seen = [put(1, 'x', 'a', 0, Infinity), get(2, 'x', 'a', 5, 6)];
  const unseen = [put(1, 'x', 'a', 0, Infinity), get(2, 'x', null, 5, 6)];
  assert.equal(checkLinearizable(kvModel, seen).result, 'ok');
  assert.equal(checkLinearizable(kvModel, unseen).result, 'ok');
  // But it cannot take effect before it was invoked.
  const early = [get(2, 'x', 'a', 0, 1), put(1, 'x', 'a', 5, Infinity)];
  assert.equal(checkLinearizable(kvModel, early).result, 'illegal');
});

test('keys are checked independently; a violation on one key is found among many', () => {
  const h: Op[] = [];
  let t = 0;
  for (let i = 0; i < 50; i++) {
    h.push(put(1, 'k1', `v${i}`, t, t + 3));
    h.push(get(2, 'k1', i === 0 ? null : `v${i - 1}`, t + 1, t + 2)); // concurrent with the write: old value
    t += 5;
  }
  h.push(put(3, 'k2', 'p', 0, 1), get(4, 'k2', 'p', 2, 3));
  const ok = checkLinearizable(kvModel, h);
  assert.equal(ok.result, 'ok');
  assert.equal(ok.partitions, 2);
  h.push(get(4, 'k2', null, 10, 11));
  const bad = checkLinearizable(kvModel, h);
  assert.equal(bad.result, 'illegal');
  assert.equal(bad.failedPartition, 1);
});

test('many overlapping operations are decided quickly thanks to memoization', () => {
  // 8 clients each write their own value concurrently, then everyone reads the winner.
  const h: Op[] = [];
  for (let c = 0; c < 8; c++) h.push(put(c, 'x', `w${c}`, 0, 100));
  for (let c = 0; c < 8; c++) h.push(get(c, 'x', 'w5', 200 + c, 300));
  const r = checkLinearizable(kvModel, h);
  assert.equal(r.result, 'ok');
  assert.ok(r.steps < 100_000, `steps ${r.steps}`);
  h.push(get(9, 'x', 'w6', 400, 401));
  assert.equal(checkLinearizable(kvModel, h).result, 'illegal');
});

test('the search budget yields unknown instead of running forever', () => {
  const h: Op[] = [];
  for (let c = 0; c < 20; c++) h.push(put(c, 'x', `w${c}`, 0, 100));
  h.push(get(99, 'x', 'nope', 200, 201));
  assert.equal(checkLinearizable(kvModel, h, 1000).result, 'unknown');
});
