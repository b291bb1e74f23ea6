import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clampBound,
  intervalContains,
  intervalsIntersect,
  isEmptyInterval,
  toInterval,
} from './key-range.js';
import { MAX_KEY_BYTES } from './limits.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

test('etcd range conventions: single key, [key, end), from-key', () => {
  const single = toInterval(b('a'));
  assert.ok(intervalContains(single, b('a')));
  assert.ok(!intervalContains(single, b('ab')));
  assert.ok(toInterval(b('a'), new Uint8Array(0)).single);
  const half = toInterval(b('a'), b('c'));
  assert.ok(intervalContains(half, b('a')) && intervalContains(half, b('bzz')));
  assert.ok(!intervalContains(half, b('c')) && !intervalContains(half, b('0')));
  const from = toInterval(b('m'), new Uint8Array([0]));
  assert.ok(intervalContains(from, b('m')) && intervalContains(from, new Uint8Array([0xff, 0xff])));
  assert.ok(!intervalContains(from, b('l')));
  const all = toInterval(new Uint8Array([0]), new Uint8Array([0]));
  assert.ok(intervalContains(all, new Uint8Array([0])) && intervalContains(all, b('anything')));
  assert.ok(isEmptyInterval(toInterval(b('c'), b('a'))));
  assert.ok(isEmptyInterval(toInterval(b('c'), b('c'))));
});

test('interval intersection', () => {
  assert.ok(intervalsIntersect(toInterval(b('a'), b('c')), toInterval(b('b'))));
  assert.ok(!intervalsIntersect(toInterval(b('a'), b('c')), toInterval(b('c'))));
  assert.ok(intervalsIntersect(toInterval(b('a'), b('c')), toInterval(b('b'), new Uint8Array([0]))));
  assert.ok(!intervalsIntersect(toInterval(b('a'), b('b')), toInterval(b('b'), b('c'))));
  assert.ok(!intervalsIntersect(toInterval(b('c'), b('a')), toInterval(b('a'), b('z'))));
});

test('clampBound preserves order against every storable key', () => {
  const long = new Uint8Array(MAX_KEY_BYTES + 50).fill(0x61);
  long[MAX_KEY_BYTES + 10] = 0x62;
  const c = clampBound(long);
  assert.equal(c.length, MAX_KEY_BYTES + 1);
  const cmp = (x: Uint8Array, y: Uint8Array): number => Buffer.compare(Buffer.from(x), Buffer.from(y));
  const candidates = [
    new Uint8Array(MAX_KEY_BYTES).fill(0x61),
    new Uint8Array(MAX_KEY_BYTES).fill(0x62),
    new Uint8Array(3).fill(0x61),
    new Uint8Array([0x61, 0x62]),
  ];
  for (const k of candidates) assert.equal(Math.sign(cmp(k, long)), Math.sign(cmp(k, c)));
  assert.equal(clampBound(b('short')).length, 5);
});
