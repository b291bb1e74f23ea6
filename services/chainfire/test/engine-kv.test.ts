/** ChainFire engine: revisions, versions, ranges, txns, limits and compaction (etcd v3 semantics). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixEnd } from '@photoncloud/store';
import type { KeyValue } from '@photoncloud/store';
import { MAX_KEY_BYTES } from '../src/core/limits.js';
import { Collector, b, ev, openTestEngine, rejectsKind, s } from './engine-helpers.js';

const fields = (kv: KeyValue | undefined): unknown =>
  kv && {
    key: s(kv.key),
    value: s(kv.value),
    create: kv.createRevision,
    mod: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };

test('revision and version semantics: create, update, delete, re-create', async (t) => {
  const { cf } = await openTestEngine(t);
  assert.equal(
    (await cf.range({ key: b('x'), countOnly: true })).header.revision,
    1,
    'a fresh store is at revision 1',
  );
  const p1 = await cf.put({ key: b('k'), value: b('v1') });
  assert.equal(p1.header.revision, 2);
  const p2 = await cf.put({ key: b('k'), value: b('v2'), prevKv: true });
  assert.equal(p2.header.revision, 3);
  assert.deepEqual(fields(p2.prevKv), { key: 'k', value: 'v1', create: 2, mod: 2, version: 1, lease: '0' });
  assert.deepEqual(fields((await cf.range({ key: b('k') })).kvs[0]), {
    key: 'k',
    value: 'v2',
    create: 2,
    mod: 3,
    version: 2,
    lease: '0',
  });

  const d = await cf.deleteRange({ key: b('k'), prevKv: true });
  assert.equal(d.header.revision, 4);
  assert.equal(d.deleted, 1);
  assert.deepEqual(fields(d.prevKvs[0]), {
    key: 'k',
    value: 'v2',
    create: 2,
    mod: 3,
    version: 2,
    lease: '0',
  });
  // Deleting nothing does not create a revision.
  const none = await cf.deleteRange({ key: b('k') });
  assert.equal(none.header.revision, 4);
  assert.equal(none.deleted, 0);
  const p3 = await cf.put({ key: b('k'), value: b('v3') });
  assert.deepEqual(fields((await cf.range({ key: b('k') })).kvs[0]), {
    key: 'k',
    value: 'v3',
    create: 5,
    mod: 5,
    version: 1,
    lease: '0',
  });
  assert.equal(p3.header.revision, 5);

  // History: each revision reads its own state, including the gap while deleted.
  assert.equal(s((await cf.range({ key: b('k'), revision: 2 })).kvs[0]!.value), 'v1');
  assert.equal(s((await cf.range({ key: b('k'), revision: 3 })).kvs[0]!.value), 'v2');
  assert.equal((await cf.range({ key: b('k'), revision: 4 })).kvs.length, 0);
  const atOld = await cf.range({ key: b('k'), revision: 3 });
  assert.equal(atOld.header.revision, 5, 'header carries the current revision even for old reads');
  await rejectsKind(cf.range({ key: b('k'), revision: 6 }), 'futureRev');
  const h = p3.header;
  assert.match(h.clusterId, /^[1-9]\d*$/);
  assert.match(h.memberId, /^[1-9]\d*$/);
  assert.equal(h.raftTerm, 2, 'like etcd: bootstrap at term 1, first election term 2');
});

test('ranges: prefix, [start, end), from-key, limit/more/count, sort, filters, keysOnly, countOnly, history', async (t) => {
  const { cf } = await openTestEngine(t);
  for (const k of ['a', 'b/1', 'b/2', 'b/3', 'c']) await cf.put({ key: b(k), value: b(`val-${k}`) });
  const keys = async (req: Parameters<typeof cf.range>[0]): Promise<string[]> =>
    (await cf.range(req)).kvs.map((kv) => s(kv.key));
  assert.deepEqual(await keys({ key: b('b/'), rangeEnd: prefixEnd(b('b/')) }), ['b/1', 'b/2', 'b/3']);
  assert.deepEqual(await keys({ key: b('b/2'), rangeEnd: b('c') }), ['b/2', 'b/3']);
  assert.deepEqual(await keys({ key: b('b/3'), rangeEnd: new Uint8Array([0]) }), ['b/3', 'c']);
  assert.deepEqual(await keys({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) }), [
    'a',
    'b/1',
    'b/2',
    'b/3',
    'c',
  ]);
  assert.deepEqual(await keys({ key: b('c'), rangeEnd: b('a') }), [], 'an inverted range is empty');
  const lim = await cf.range({ key: b('a'), rangeEnd: b('z'), limit: 2 });
  assert.deepEqual([lim.kvs.map((kv) => s(kv.key)), lim.more, lim.count], [['a', 'b/1'], true, 5]);
  const all = await cf.range({ key: b('a'), rangeEnd: b('z'), limit: 5 });
  assert.equal(all.more, false);
  assert.deepEqual(await keys({ key: b('a'), rangeEnd: b('z'), sortOrder: 'descend', limit: 2 }), [
    'c',
    'b/3',
  ]);
  assert.deepEqual(await keys({ key: b('a'), rangeEnd: b('z'), sortTarget: 'mod', sortOrder: 'descend' }), [
    'c',
    'b/3',
    'b/2',
    'b/1',
    'a',
  ]);
  assert.deepEqual(await keys({ key: b('a'), rangeEnd: b('z'), minModRevision: 3, maxModRevision: 4 }), [
    'b/1',
    'b/2',
  ]);
  const ko = await cf.range({ key: b('a'), rangeEnd: b('z'), keysOnly: true });
  assert.ok(ko.kvs.every((kv) => kv.value.length === 0) && ko.kvs.length === 5);
  const co = await cf.range({ key: b('a'), rangeEnd: b('z'), countOnly: true });
  assert.deepEqual([co.kvs.length, co.count], [0, 5]);
  // Old revision of a range: the state after the 3rd write (a, b/1).
  await cf.deleteRange({ key: b('a') });
  await cf.put({ key: b('b/1'), value: b('changed') });
  const old = await cf.range({ key: b('a'), rangeEnd: b('z'), revision: 3 });
  assert.deepEqual(
    old.kvs.map((kv) => [s(kv.key), s(kv.value)]),
    [
      ['a', 'val-a'],
      ['b/1', 'val-b/1'],
    ],
  );
  assert.equal(old.count, 2);
  const now = await cf.range({ key: b('a'), rangeEnd: b('z') });
  assert.deepEqual(now.kvs.map((kv) => [s(kv.key), s(kv.value)])[0], ['b/1', 'changed']);
  await rejectsKind(cf.range({ key: new Uint8Array(0) }), 'emptyKey');
});

test('txn: compares, branches, reads see earlier writes, one revision per txn, nested txns', async (t) => {
  const { cf } = await openTestEngine(t);
  await cf.put({ key: b('a'), value: b('1') }); // rev 2
  await cf.put({ key: b('b'), value: b('2') }); // rev 3
  const watch = new Collector();
  await cf.watch({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) }, watch.listener);

  const r = await cf.txn({
    compare: [
      { key: b('a'), target: 'value', result: 'equal', value: b('1') },
      { key: b('a'), rangeEnd: b('c'), target: 'version', result: 'equal', version: 1 },
      { key: b('missing'), target: 'create', result: 'equal', createRevision: 0 },
    ],
    success: [
      { put: { key: b('a'), value: b('10'), prevKv: true } },
      { range: { key: b('a') } },
      { deleteRange: { key: b('b'), prevKv: true } },
      {
        txn: {
          compare: [{ key: b('b'), target: 'version', result: 'greater', version: 0 }],
          success: [{ put: { key: b('n1'), value: b('x') } }],
          failure: [{ put: { key: b('n2'), value: b('y') } }],
        },
      },
    ],
    failure: [{ put: { key: b('never'), value: b('x') } }],
  });
  assert.equal(r.succeeded, true);
  assert.equal(r.header.revision, 4);
  const [putR, rangeR, delR, nestedR] = r.responses;
  assert.ok(putR && 'put' in putR && s(putR.put.prevKv!.value) === '1' && putR.put.header.revision === 4);
  assert.ok(rangeR && 'range' in rangeR);
  assert.equal(s(rangeR.range.kvs[0]!.value), '10', 'a read inside the txn sees the earlier put');
  assert.equal(rangeR.range.kvs[0]!.modRevision, 4);
  assert.ok(delR && 'deleteRange' in delR && delR.deleteRange.deleted === 1);
  assert.ok(nestedR && 'txn' in nestedR);
  // Nested compares see the state at the start of the outer txn: b still existed.
  assert.equal(nestedR.txn.succeeded, true);
  assert.equal((await cf.range({ key: b('n1') })).kvs.length, 1);
  assert.equal((await cf.range({ key: b('n2') })).kvs.length, 0);
  // All writes share revision 4, ordered by sub-revision; watchers see them in one response.
  await cf.put({ key: b('sync'), value: b('') });
  const firstBatch = watch.responses[0]!;
  assert.deepEqual(firstBatch.events.map(ev), [
    ['PUT', 'a', 4, '10'],
    ['DELETE', 'b', 4, ''],
    ['PUT', 'n1', 4, 'x'],
  ]);

  // Failing compare runs the failure branch; a txn that writes nothing keeps the revision.
  const f = await cf.txn({
    compare: [{ key: b('a'), target: 'mod', result: 'less', modRevision: 4 }],
    success: [{ put: { key: b('x'), value: b('') } }],
    failure: [{ range: { key: b('a') } }],
  });
  assert.equal(f.succeeded, false);
  assert.equal(f.header.revision, 5);
  // Read-only txn (served without the log).
  const ro = await cf.txn({ compare: [], success: [{ range: { key: b('a'), revision: 2 } }], failure: [] });
  assert.ok('range' in ro.responses[0]! && s(ro.responses[0].range.kvs[0]!.value) === '1');
  assert.equal(ro.header.revision, 5);
});

test('txn errors: duplicate keys, too many ops, bad lease, missing key for ignoreValue; nothing is written', async (t) => {
  const { cf } = await openTestEngine(t);
  await cf.put({ key: b('a'), value: b('1') });
  await rejectsKind(
    cf.txn({
      compare: [],
      success: [{ put: { key: b('a'), value: b('') } }, { put: { key: b('a'), value: b('') } }],
      failure: [],
    }),
    'duplicateKey',
  );
  await rejectsKind(
    cf.txn({
      compare: [],
      success: Array.from({ length: 129 }, (_, i) => ({ put: { key: b(`k${i}`), value: b('') } })),
      failure: [],
    }),
    'tooManyOps',
  );
  await rejectsKind(
    cf.txn({ compare: [], success: [{ put: { key: b('z'), value: b(''), lease: '42' } }], failure: [] }),
    'leaseNotFound',
  );
  await rejectsKind(
    cf.txn({
      compare: [],
      success: [
        { put: { key: b('y'), value: b('') } },
        { put: { key: b('nope'), value: new Uint8Array(0), ignoreValue: true } },
      ],
      failure: [],
    }),
    'keyNotFound',
  );
  await rejectsKind(
    cf.txn({ compare: [], success: [{ range: { key: b('a'), revision: 99 } }], failure: [] }),
    'futureRev',
  );
  const state = await cf.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
  assert.equal(state.header.revision, 2, 'failed txns created no revision');
  assert.deepEqual(
    state.kvs.map((kv) => s(kv.key)),
    ['a'],
  );
  // 128 ops is fine.
  const ok = await cf.txn({
    compare: [],
    success: Array.from({ length: 128 }, (_, i) => ({ put: { key: b(`k${i}`), value: b('') } })),
    failure: [],
  });
  assert.equal(ok.header.revision, 3);
});

test('put ignoreValue / ignoreLease keep the current value / lease', async (t) => {
  const { cf } = await openTestEngine(t);
  await rejectsKind(cf.put({ key: b('k'), value: new Uint8Array(0), ignoreValue: true }), 'keyNotFound');
  const lease = await cf.leaseGrant(60);
  await cf.put({ key: b('k'), value: b('keep'), lease: lease.id });
  await cf.put({ key: b('k'), value: new Uint8Array(0), ignoreValue: true, lease: lease.id });
  let kv = (await cf.range({ key: b('k') })).kvs[0]!;
  assert.deepEqual([s(kv.value), kv.version, kv.lease], ['keep', 2, lease.id]);
  await cf.put({ key: b('k'), value: b('new'), ignoreLease: true });
  kv = (await cf.range({ key: b('k') })).kvs[0]!;
  assert.deepEqual([s(kv.value), kv.version, kv.lease], ['new', 3, lease.id]);
  await rejectsKind(cf.put({ key: b('k'), value: b('x'), ignoreValue: true }), 'valueProvided');
  await rejectsKind(
    cf.put({ key: b('k'), value: b('x'), lease: lease.id, ignoreLease: true }),
    'leaseProvided',
  );
});

test('limits: request size (etcd default), key size (LMDB layout), large values round-trip', async (t) => {
  const { cf } = await openTestEngine(t);
  await rejectsKind(cf.put({ key: b('big'), value: new Uint8Array(1572864 + 1) }), 'requestTooLarge');
  const value = new Uint8Array(1500 * 1024).map((_, i) => i & 0xff);
  await cf.put({ key: b('big'), value });
  assert.ok(
    Buffer.from(value).equals((await cf.range({ key: b('big') })).kvs[0]!.value),
    'the 1.5 MB value round-trips',
  );
  await rejectsKind(
    cf.put({ key: new Uint8Array(MAX_KEY_BYTES + 1).fill(0x61), value: b('') }),
    'keyTooLarge',
  );
  const longest = new Uint8Array(MAX_KEY_BYTES).fill(0x61);
  await cf.put({ key: longest, value: b('ok') });
  assert.equal((await cf.range({ key: longest })).kvs.length, 1);
  // Reads, deletes and compares with over-long keys answer as for a missing key instead of failing.
  const tooLong = new Uint8Array(MAX_KEY_BYTES + 100).fill(0x61);
  assert.equal((await cf.range({ key: tooLong })).kvs.length, 0);
  assert.equal((await cf.range({ key: b('a'), rangeEnd: tooLong })).kvs.length, 1);
  assert.equal((await cf.deleteRange({ key: tooLong })).deleted, 0);
  const c = await cf.txn({
    compare: [{ key: tooLong, target: 'version', result: 'equal', version: 0 }],
    success: [],
    failure: [],
  });
  assert.equal(c.succeeded, true);
});

test('compaction: etcd errors, old revisions unreadable, compact revision and newer intact, history dropped', async (t) => {
  const { cf } = await openTestEngine(t);
  await cf.put({ key: b('live'), value: b('v1') }); // 2
  await cf.put({ key: b('gone'), value: b('g') }); // 3
  await cf.put({ key: b('live'), value: b('v2') }); // 4
  await cf.deleteRange({ key: b('gone') }); // 5
  await cf.put({ key: b('late'), value: b('l') }); // 6
  await rejectsKind(cf.compact(7), 'futureRev');
  const resp = await cf.compact(5, true);
  assert.equal(resp.header.revision, 6);
  await rejectsKind(cf.compact(5), 'compacted');
  await rejectsKind(cf.compact(3), 'compacted');
  await rejectsKind(cf.range({ key: b('live'), revision: 4 }), 'compacted');
  const at5 = await cf.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), revision: 5 });
  assert.deepEqual(
    at5.kvs.map((kv) => [s(kv.key), s(kv.value), kv.createRevision, kv.version]),
    [['live', 'v2', 2, 2]],
  );
  const st = await cf.clusterStatus();
  assert.equal(st.compactRevision, 5);
  // Watching from before the compact revision is refused; from it, history is complete.
  const early = new Collector();
  await cf.watch(
    { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), startRevision: 4 },
    early.listener,
  );
  const fromCompact = new Collector();
  await cf.watch(
    { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), startRevision: 5 },
    fromCompact.listener,
  );
  await cf.put({ key: b('after'), value: b('a') }); // 7
  await new Promise((r) => setImmediate(r));
  assert.equal(early.responses.length, 1);
  assert.deepEqual(
    {
      canceled: early.responses[0]!.canceled,
      compactRevision: early.responses[0]!.compactRevision,
      events: early.responses[0]!.events.length,
    },
    { canceled: true, compactRevision: 5, events: 0 },
  );
  assert.deepEqual(fromCompact.events().map(ev), [
    ['DELETE', 'gone', 5, ''],
    ['PUT', 'late', 6, 'l'],
    ['PUT', 'after', 7, 'a'],
  ]);
  // A second compaction later drops the tombstone kept at the first compact revision.
  await cf.compact(7, true);
  const hist = new Collector();
  await cf.watch(
    { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), startRevision: 7 },
    hist.listener,
  );
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(hist.events().map(ev), [['PUT', 'after', 7, 'a']]);
});
