/** ChainFire engine: watches (live, historical then live, filters, prevKv, compaction, bad listeners). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@photoncloud/test-utils';
import { prefixEnd } from '@photoncloud/store';
import { Collector, b, ev, openTestEngine, s } from './engine-helpers.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('live watch: range, order, prevKv, filters, startRevision in the future, cancel', async (t) => {
  const { cf } = await openTestEngine(t);
  const all = new Collector();
  const prev = new Collector();
  const noput = new Collector();
  const future = new Collector();
  const w = await cf.watch({ key: b('w/'), rangeEnd: prefixEnd(b('w/')) }, all.listener);
  await cf.watch({ key: b('w/a'), prevKv: true }, prev.listener);
  await cf.watch({ key: b('w/'), rangeEnd: prefixEnd(b('w/')), filters: ['noput'] }, noput.listener);
  await cf.watch({ key: b('w/'), rangeEnd: prefixEnd(b('w/')), startRevision: 4 }, future.listener);
  await cf.put({ key: b('w/a'), value: b('1') }); // 2
  await cf.put({ key: b('other'), value: b('x') }); // 3
  await cf.put({ key: b('w/a'), value: b('2') }); // 4
  await cf.deleteRange({ key: b('w/a') }); // 5
  assert.deepEqual(all.events().map(ev), [
    ['PUT', 'w/a', 2, '1'],
    ['PUT', 'w/a', 4, '2'],
    ['DELETE', 'w/a', 5, ''],
  ]);
  assert.deepEqual(
    all.responses.map((r) => r.header.revision),
    [2, 4, 5],
  );
  assert.deepEqual(prev.events().map(ev), [
    ['PUT', 'w/a', 2, '1'],
    ['PUT', 'w/a', 4, '2', 'prev:1'],
    ['DELETE', 'w/a', 5, '', 'prev:2'],
  ]);
  const del = prev.events()[2]!;
  assert.deepEqual([del.kv.createRevision, del.kv.version, del.kv.lease], [0, 0, '0']);
  assert.deepEqual(noput.events().map(ev), [['DELETE', 'w/a', 5, '']]);
  assert.deepEqual(
    future.events().map((e) => e.kv.modRevision),
    [4, 5],
  );
  await w.cancel();
  await w.cancel();
  await cf.put({ key: b('w/b'), value: b('3') });
  assert.equal(all.events().length, 3, 'no delivery after cancel');
});

test('historical replay continues seamlessly into live events (no gap, no duplicate)', async (t) => {
  const { cf } = await openTestEngine(t);
  for (let i = 0; i < 2500; i++) await cf.put({ key: b(`h/${i % 50}`), value: b(String(i)) }); // revisions 2..2501
  const c = new Collector();
  await cf.watch({ key: b('h/'), rangeEnd: prefixEnd(b('h/')), startRevision: 2, prevKv: true }, c.listener);
  // Keep writing while the replay runs in batches.
  const writes = Array.from({ length: 300 }, (_, i) =>
    cf.put({ key: b(`h/${i % 7}`), value: b(`live${i}`) }),
  );
  await Promise.all(writes);
  await waitFor(() => c.events().length >= 2800, { what: 'all events' });
  const revs = c.events().map((e) => e.kv.modRevision);
  assert.equal(revs.length, 2800);
  assert.deepEqual(
    revs,
    Array.from({ length: 2800 }, (_, i) => i + 2),
    'every revision once, in order',
  );
  // Replayed events carry prevKv from history, like live ones.
  const e60 = c.events()[60]!;
  assert.equal(s(e60.kv.value), '60');
  assert.equal(s(e60.prevKv!.value), '10');
  assert.equal(c.events()[0]!.prevKv, undefined);
});

test('a watch from before the compact revision is cancelled with compactRevision', async (t) => {
  const { cf } = await openTestEngine(t);
  for (let i = 0; i < 5; i++) await cf.put({ key: b('c'), value: b(String(i)) });
  await cf.compact(4);
  const c = new Collector();
  await cf.watch({ key: b('c'), startRevision: 2 }, c.listener);
  await waitFor(() => c.responses.length === 1, { what: 'compacted response' });
  const r = c.responses[0]!;
  assert.equal(r.canceled, true);
  assert.equal(r.compactRevision, 4);
  assert.equal(r.cancelReason, 'etcdserver: mvcc: required revision has been compacted');
  await cf.put({ key: b('c'), value: b('after') });
  await turn();
  assert.equal(c.responses.length, 1, 'a cancelled watch stays silent');
});

test('a throwing listener breaks neither the engine nor other watchers', async (t) => {
  const { cf } = await openTestEngine(t);
  await cf.watch({ key: b('k') }, () => {
    throw new Error('listener bug');
  });
  const good = new Collector();
  await cf.watch({ key: b('k') }, good.listener);
  await cf.put({ key: b('k'), value: b('1') });
  await cf.put({ key: b('k'), value: b('2') });
  assert.deepEqual(
    good.events().map((e) => s(e.kv.value)),
    ['1', '2'],
  );
  assert.equal(s((await cf.range({ key: b('k') })).kvs[0]!.value), '2');
});

test('close cancels watches', async (t) => {
  const te = await openTestEngine(t);
  const c = new Collector();
  await te.cf.watch({ key: b('k') }, c.listener);
  const cf2 = await te.reopen();
  await cf2.put({ key: b('k'), value: b('x') });
  assert.equal(c.responses.length, 0);
});
