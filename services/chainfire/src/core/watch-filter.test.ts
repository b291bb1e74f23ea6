import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event } from '@photoncloud/store';
import { selectEvents } from './watch-filter.js';
import { toInterval } from './key-range.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const kv = (k: string, rev: number) => ({
  key: b(k),
  value: b('v'),
  createRevision: rev,
  modRevision: rev,
  version: 1,
  lease: '0',
});
const events: Event[] = [
  { type: 'PUT', kv: kv('a', 5), prevKv: kv('a', 4) },
  { type: 'DELETE', kv: kv('b', 5), prevKv: kv('b', 3) },
  { type: 'PUT', kv: kv('c', 5) },
];

test('range, filters and prevKv selection', () => {
  const sel = { range: toInterval(b('a'), b('c')), noPut: false, noDelete: false, prevKv: false };
  const out = selectEvents(sel, events);
  assert.deepEqual(
    out.map((e) => [e.type, e.prevKv]),
    [
      ['PUT', undefined],
      ['DELETE', undefined],
    ],
  );
  assert.equal(selectEvents({ ...sel, prevKv: true }, events)[0]?.prevKv?.modRevision, 4);
  assert.deepEqual(
    selectEvents({ ...sel, noPut: true }, events).map((e) => e.type),
    ['DELETE'],
  );
  assert.deepEqual(
    selectEvents({ ...sel, noDelete: true }, events).map((e) => e.type),
    ['PUT'],
  );
  assert.deepEqual(selectEvents({ ...sel, range: toInterval(b('c')) }, events).length, 1);
});
