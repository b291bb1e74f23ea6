/** Contract: revisions, range, put and deleteRange, with etcd v3's exact semantics. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, prefixEnd, text } from '../src/keys.js';
import type { Bytes, SortOrder, SortTarget } from '../src/types.js';
import {
  collect,
  currentRevision,
  kvFields,
  names,
  rejectsWith,
  type ContractContext,
} from './contract-helpers.js';

const T = { timeout: 60_000 };

/** Register the KV tests. */
export function kvContract(ctx: ContractContext): void {
  test(
    'revisions: +1 per write, unchanged by reads, failed txns and errors; header on reads and writes',
    T,
    async () => {
      const store = ctx.store();
      const s = ctx.space('revisions');
      const r0 = await currentRevision(store, s.key('a'));
      assert.ok(r0 >= 1, 'a store starts at revision 1');

      const p1 = await store.put({ key: s.key('a'), value: bytes('1') });
      assert.equal(p1.header.revision, r0 + 1);
      const p2 = await store.put({ key: s.key('b'), value: bytes('1') });
      assert.equal(p2.header.revision, r0 + 2);

      // Reads answer with the newest revision and do not move it.
      const g = await store.range({ key: s.key('a') });
      assert.equal(g.header.revision, r0 + 2);
      await store.range({ key: s.prefix, rangeEnd: s.end });
      assert.equal(await currentRevision(store, s.key('a')), r0 + 2);

      // A txn whose compare fails with an empty failure branch writes nothing.
      const failed = await store.txn({
        compare: [{ key: s.key('a'), target: 'version', result: 'equal', version: 99 }],
        success: [{ put: { key: s.key('a'), value: bytes('x') } }],
        failure: [],
      });
      assert.equal(failed.succeeded, false);
      assert.equal(failed.header.revision, r0 + 2);
      // A read-only txn writes nothing either.
      const ro = await store.txn({ compare: [], success: [{ range: { key: s.key('a') } }], failure: [] });
      assert.equal(ro.header.revision, r0 + 2);
      // A rejected request writes nothing.
      await rejectsWith(
        store.put({ key: s.key('a'), value: bytes('x'), lease: '123456789' }),
        'leaseNotFound',
      );
      await rejectsWith(store.put({ key: new Uint8Array(0), value: bytes('x') }), 'emptyKey');

      const p3 = await store.put({ key: s.key('a'), value: bytes('2') });
      assert.equal(p3.header.revision, r0 + 3);
      assert.equal((await store.range({ key: s.key('a') })).header.revision, r0 + 3);
    },
  );

  test(
    'header identifies cluster and member; create/mod revision and version through put, delete, re-create',
    T,
    async () => {
      const store = ctx.store();
      const s = ctx.space('versions');
      const k = s.key('k');
      const c1 = await store.put({ key: k, value: bytes('v1') });
      assert.match(c1.header.clusterId, /^[1-9]\d*$/);
      assert.match(c1.header.memberId, /^[1-9]\d*$/);
      assert.equal(typeof c1.header.raftTerm, 'number');
      let kv = (await store.range({ key: k })).kvs[0]!;
      assert.deepEqual(kvFields(s, kv), {
        key: 'k',
        value: 'v1',
        createRevision: c1.header.revision,
        modRevision: c1.header.revision,
        version: 1,
        lease: '0',
      });
      const c2 = await store.put({ key: k, value: bytes('v2') });
      const c3 = await store.put({ key: k, value: bytes('v3') });
      kv = (await store.range({ key: k })).kvs[0]!;
      assert.deepEqual(
        [kv.createRevision, kv.modRevision, kv.version, text(kv.value)],
        [c1.header.revision, c3.header.revision, 3, 'v3'],
      );
      assert.equal(c3.header.revision, c2.header.revision + 1);

      const d = await store.deleteRange({ key: k });
      assert.equal(d.deleted, 1);
      assert.equal(d.header.revision, c3.header.revision + 1);
      assert.equal((await store.range({ key: k })).count, 0);

      // Re-created after a delete: a new life, version back to 1.
      const c4 = await store.put({ key: k, value: bytes('v4') });
      kv = (await store.range({ key: k })).kvs[0]!;
      assert.deepEqual(
        [kv.createRevision, kv.modRevision, kv.version, text(kv.value)],
        [c4.header.revision, c4.header.revision, 1, 'v4'],
      );
      // The history stays readable at older revisions.
      const atC2 = await store.range({ key: k, revision: c2.header.revision });
      assert.deepEqual(kvFields(s, atC2.kvs[0]!), {
        key: 'k',
        value: 'v2',
        createRevision: c1.header.revision,
        modRevision: c2.header.revision,
        version: 2,
        lease: '0',
      });
      // Header revision of an old read is the newest revision, not the one read.
      assert.equal(atC2.header.revision, c4.header.revision);
      assert.equal((await store.range({ key: k, revision: d.header.revision })).count, 0);
    },
  );

  test('range: single key, [key, rangeEnd), prefix, from-key and all keys', T, async () => {
    const store = ctx.store();
    const s = ctx.space('range-basic');
    for (const n of ['a', 'b', 'b0', 'c', 'd']) await store.put({ key: s.key(n), value: bytes(`v-${n}`) });
    // A key outside the prefix but sharing its start must not leak into prefix reads.
    const outside = bytes(text(s.prefix).slice(0, -1) + '0');
    await store.put({ key: outside, value: bytes('outside') });

    const single = await store.range({ key: s.key('b') });
    assert.deepEqual(names(s, single.kvs), ['b']);
    assert.equal(single.count, 1);
    assert.equal(single.more, false);
    assert.equal(text(single.kvs[0]!.value), 'v-b');

    const missing = await store.range({ key: s.key('zz') });
    assert.deepEqual([missing.kvs.length, missing.count, missing.more], [0, 0, false]);

    const interval = await store.range({ key: s.key('b'), rangeEnd: s.key('d') });
    assert.deepEqual(names(s, interval.kvs), ['b', 'b0', 'c'], 'rangeEnd is exclusive');
    assert.equal(interval.count, 3);

    const prefix = await store.range({ key: s.prefix, rangeEnd: s.end });
    assert.deepEqual(names(s, prefix.kvs), ['a', 'b', 'b0', 'c', 'd']);

    const bPrefix = await store.range({ key: s.key('b'), rangeEnd: s.key('c') });
    assert.deepEqual(names(s, bPrefix.kvs), ['b', 'b0']);

    // From-key (`\0`): every key >= key. Other tests' keys may follow ours, so check ours are all
    // there, in order, and that nothing below the start key is.
    const fromKey = await store.range({ key: s.key('b0'), rangeEnd: Uint8Array.of(0) });
    const all = fromKey.kvs.map((kv) => text(kv.key));
    assert.deepEqual(
      all.slice(0, 3),
      ['b0', 'c', 'd'].map((n) => text(s.key(n))),
    );
    assert.ok(all.every((k) => k >= text(s.key('b0'))));
    assert.equal(fromKey.count, fromKey.kvs.length);

    // Key `\0` with rangeEnd `\0`: every key in the store.
    const everything = await store.range({
      key: Uint8Array.of(0),
      rangeEnd: Uint8Array.of(0),
      keysOnly: true,
    });
    const everyKey = everything.kvs.map((kv) => Buffer.from(kv.key));
    for (const k of [...['a', 'b', 'b0', 'c', 'd'].map((n) => s.key(n)), outside]) {
      assert.ok(
        everyKey.some((e) => e.equals(k)),
        `${text(k)} is in a read of every key`,
      );
    }
    assert.deepEqual(everyKey, [...everyKey].sort(Buffer.compare), 'keys come back in byte order');
    assert.equal(everything.count, everyKey.length);

    // An interval whose end is not after its start is empty.
    const inverted = await store.range({ key: s.key('d'), rangeEnd: s.key('b') });
    assert.deepEqual([inverted.kvs.length, inverted.count], [0, 0]);
    const none = await store.range({ key: s.key('b'), rangeEnd: s.key('b') });
    assert.deepEqual([none.kvs.length, none.count], [0, 0]);
    const r = await currentRevision(store, s.key('a'));
    assert.equal((await store.deleteRange({ key: s.key('d'), rangeEnd: s.key('b') })).deleted, 0);
    assert.equal(await currentRevision(store, s.key('a')), r);

    await rejectsWith(store.range({ key: new Uint8Array(0) }), 'emptyKey');
  });

  test(
    'range, deleteRange and watch from a key (rangeEnd "\\0") cover exactly the keys at or after it',
    T,
    async () => {
      const store = ctx.store();
      // Keys starting with 0xfe 0xfe sort after every key other tests write, so the results are exact.
      const p = Buffer.concat([Buffer.from([0xfe, 0xfe]), Buffer.from(ctx.space('range-fromkey').prefix)]);
      const k = (n: string): Buffer => Buffer.concat([p, Buffer.from(n)]);
      const hex = (keys: Bytes[]): string[] => keys.map((b) => Buffer.from(b).toString('hex'));
      const w = await collect(store, { key: k('b'), rangeEnd: Uint8Array.of(0) });
      for (const n of ['a', 'b', 'c']) await store.put({ key: k(n), value: bytes(n) });
      const r = await store.range({ key: k('b'), rangeEnd: Uint8Array.of(0) });
      assert.deepEqual(hex(r.kvs.map((kv) => kv.key)), hex([k('b'), k('c')]));
      assert.equal(r.count, 2);
      const del = await store.deleteRange({ key: k('b'), rangeEnd: Uint8Array.of(0), prevKv: true });
      assert.equal(del.deleted, 2);
      assert.deepEqual(hex(del.prevKvs.map((kv) => kv.key)), hex([k('b'), k('c')]));
      const events = await w.waitEvents(4);
      assert.deepEqual(
        events.map((e) => [e.type, Buffer.from(e.kv.key).toString('hex')]),
        [
          ['PUT', k('b').toString('hex')],
          ['PUT', k('c').toString('hex')],
          ['DELETE', k('b').toString('hex')],
          ['DELETE', k('c').toString('hex')],
        ],
      );
      await w.watcher.cancel();
      const left = await store.range({ key: p, rangeEnd: prefixEnd(p) });
      assert.deepEqual(hex(left.kvs.map((kv) => kv.key)), hex([k('a')]));
      await store.deleteRange({ key: k('a') });
    },
  );

  test('range: limit, more and count', T, async () => {
    const store = ctx.store();
    const s = ctx.space('range-limit');
    for (const n of ['a', 'b', 'c', 'd', 'e']) await store.put({ key: s.key(n), value: bytes(n) });
    const r2 = await store.range({ key: s.prefix, rangeEnd: s.end, limit: 2 });
    assert.deepEqual(names(s, r2.kvs), ['a', 'b']);
    assert.deepEqual([r2.more, r2.count], [true, 5]);
    const r5 = await store.range({ key: s.prefix, rangeEnd: s.end, limit: 5 });
    assert.deepEqual([r5.kvs.length, r5.more, r5.count], [5, false, 5]);
    const r9 = await store.range({ key: s.prefix, rangeEnd: s.end, limit: 9 });
    assert.deepEqual([r9.kvs.length, r9.more, r9.count], [5, false, 5]);
    const r0 = await store.range({ key: s.prefix, rangeEnd: s.end, limit: 0 });
    assert.deepEqual([r0.kvs.length, r0.more, r0.count], [5, false, 5]);
    // Paging as clients do it: continue after the last key returned.
    const next = await store.range({ key: bytes(text(s.key('b')) + '\0'), rangeEnd: s.end, limit: 2 });
    assert.deepEqual(names(s, next.kvs), ['c', 'd']);
    assert.deepEqual([next.more, next.count], [true, 3]);
  });

  test('range: keysOnly and countOnly', T, async () => {
    const store = ctx.store();
    const s = ctx.space('range-keys-count');
    for (const n of ['a', 'b', 'c']) await store.put({ key: s.key(n), value: bytes(`value-${n}`) });
    const ko = await store.range({ key: s.prefix, rangeEnd: s.end, keysOnly: true });
    assert.deepEqual(names(s, ko.kvs), ['a', 'b', 'c']);
    assert.ok(
      ko.kvs.every((kv) => kv.value.length === 0),
      'keysOnly leaves values empty',
    );
    assert.ok(
      ko.kvs.every((kv) => kv.version === 1 && kv.modRevision > 0),
      'keysOnly keeps the metadata',
    );
    assert.equal(ko.count, 3);
    const co = await store.range({ key: s.prefix, rangeEnd: s.end, countOnly: true });
    assert.deepEqual([co.kvs.length, co.count, co.more], [0, 3, false]);
    const coLimited = await store.range({ key: s.prefix, rangeEnd: s.end, countOnly: true, limit: 1 });
    assert.deepEqual([coLimited.kvs.length, coLimited.count], [0, 3]);
  });

  test(
    'range: every sort order and target, with limit; revision filters; reads at older revisions',
    T,
    async () => {
      const store = ctx.store();
      const s = ctx.space('range-sort');
      // Ten writes chosen so that every sort target gives a different order with no ties:
      //   a: version 3, created 2nd, modified last,   value v4
      //   b: version 1, created 4th, modified 4th,    value v2
      //   c: version 2, created 1st, modified 8th,    value v3
      //   d: version 4, created 3rd, modified 9th,    value v1
      const seq: Array<[string, string]> = [
        ['c', 'v3'],
        ['a', 'v4'],
        ['d', 'v1'],
        ['b', 'v2'],
        ['d', 'v1'],
        ['a', 'v4'],
        ['d', 'v1'],
        ['c', 'v3'],
        ['d', 'v1'],
        ['a', 'v4'],
      ];
      const rev: number[] = [];
      for (const [n, v] of seq)
        rev.push((await store.put({ key: s.key(n), value: bytes(v) })).header.revision);
      const R = (i: number): number => rev[i - 1]!; // R(1)..R(10), the revisions of the writes above
      assert.equal(R(10), R(1) + 9);

      const sorted = async (
        sortOrder: SortOrder,
        sortTarget: SortTarget,
        limit?: number,
      ): Promise<string[]> =>
        names(s, (await store.range({ key: s.prefix, rangeEnd: s.end, sortOrder, sortTarget, limit })).kvs);
      const ascending: Record<SortTarget, string[]> = {
        key: ['a', 'b', 'c', 'd'],
        version: ['b', 'c', 'a', 'd'],
        create: ['c', 'a', 'd', 'b'],
        mod: ['b', 'c', 'd', 'a'],
        value: ['d', 'b', 'c', 'a'],
      };
      for (const [target, asc] of Object.entries(ascending) as Array<[SortTarget, string[]]>) {
        assert.deepEqual(await sorted('ascend', target), asc, `ascend by ${target}`);
        assert.deepEqual(await sorted('descend', target), [...asc].reverse(), `descend by ${target}`);
        // No order with a target other than key means ascending by that target (etcd).
        assert.deepEqual(await sorted('none', target), asc, `order none, target ${target}`);
      }

      // Sorting happens before the limit cuts.
      const top = await store.range({
        key: s.prefix,
        rangeEnd: s.end,
        sortOrder: 'descend',
        sortTarget: 'version',
        limit: 2,
      });
      assert.deepEqual(names(s, top.kvs), ['d', 'a']);
      assert.deepEqual([top.more, top.count], [true, 4]);
      assert.deepEqual(await sorted('descend', 'key', 3), ['d', 'c', 'b']);

      // Revision filters apply to the keys found; count stays the number of keys in the range (etcd).
      const filtered = async (f: {
        minModRevision?: number;
        maxModRevision?: number;
        minCreateRevision?: number;
        maxCreateRevision?: number;
      }): Promise<[string[], number]> => {
        const r = await store.range({ key: s.prefix, rangeEnd: s.end, ...f });
        return [names(s, r.kvs), r.count];
      };
      assert.deepEqual(await filtered({ minModRevision: R(8) }), [['a', 'c', 'd'], 4]);
      assert.deepEqual(await filtered({ maxModRevision: R(8) }), [['b', 'c'], 4]);
      assert.deepEqual(await filtered({ minModRevision: R(5), maxModRevision: R(9) }), [['c', 'd'], 4]);
      assert.deepEqual(await filtered({ minCreateRevision: R(3) }), [['b', 'd'], 4]);
      assert.deepEqual(await filtered({ maxCreateRevision: R(2) }), [['a', 'c'], 4]);
      assert.deepEqual(await filtered({ minCreateRevision: R(2), maxCreateRevision: R(3) }), [['a', 'd'], 4]);
      const fl = await store.range({ key: s.prefix, rangeEnd: s.end, minModRevision: R(8), limit: 2 });
      assert.deepEqual([names(s, fl.kvs), fl.more], [['a', 'c'], true]);

      // Reads at older revisions see the store as it was.
      const at2 = await store.range({ key: s.prefix, rangeEnd: s.end, revision: R(2) });
      assert.deepEqual(names(s, at2.kvs), ['a', 'c']);
      assert.equal(at2.count, 2);
      const at5 = await store.range({ key: s.key('d'), revision: R(5) });
      assert.deepEqual(
        [at5.kvs[0]!.version, at5.kvs[0]!.modRevision, at5.kvs[0]!.createRevision],
        [2, R(5), R(3)],
      );
      const at7sorted = await store.range({
        key: s.prefix,
        rangeEnd: s.end,
        revision: R(7),
        sortOrder: 'descend',
        sortTarget: 'mod',
      });
      assert.deepEqual(names(s, at7sorted.kvs), ['d', 'a', 'b', 'c']);
      assert.equal(at7sorted.header.revision, R(10));
      assert.equal((await store.range({ key: s.key('a'), revision: R(1) })).count, 0);
    },
  );

  test('range: a future revision is an error', T, async () => {
    const store = ctx.store();
    const s = ctx.space('range-future');
    const { header } = await store.put({ key: s.key('a'), value: bytes('1') });
    assert.equal((await store.range({ key: s.key('a'), revision: header.revision })).count, 1);
    await rejectsWith(store.range({ key: s.key('a'), revision: header.revision + 1 }), 'futureRev');
    await rejectsWith(store.range({ key: s.key('a'), revision: header.revision + 1000 }), 'futureRev');
  });

  test('put: prevKv, ignoreValue, ignoreLease and their errors, lease attach and detach', T, async () => {
    const store = ctx.store();
    const s = ctx.space('put');
    const k = s.key('k');
    const first = await store.put({ key: k, value: bytes('v1'), prevKv: true });
    assert.equal(first.prevKv, undefined, 'no prevKv for a new key');
    const second = await store.put({ key: k, value: bytes('v2'), prevKv: true });
    assert.deepEqual(kvFields(s, second.prevKv!), {
      key: 'k',
      value: 'v1',
      createRevision: first.header.revision,
      modRevision: first.header.revision,
      version: 1,
      lease: '0',
    });
    const noPrev = await store.put({ key: k, value: bytes('v3') });
    assert.equal(noPrev.prevKv, undefined, 'prevKv only when asked for');

    const l1 = await store.leaseGrant(300);
    const l2 = await store.leaseGrant(300);
    try {
      // Attach a lease.
      const withLease = await store.put({ key: k, value: bytes('v4'), lease: l1.id });
      let kv = (await store.range({ key: k })).kvs[0]!;
      assert.deepEqual([text(kv.value), kv.lease, kv.version], ['v4', l1.id, 4]);

      // ignoreValue: keep the value, change the lease.
      const iv = await store.put({
        key: k,
        value: new Uint8Array(0),
        ignoreValue: true,
        lease: l2.id,
        prevKv: true,
      });
      assert.equal(text(iv.prevKv!.value), 'v4');
      kv = (await store.range({ key: k })).kvs[0]!;
      assert.deepEqual(
        [text(kv.value), kv.lease, kv.version, kv.modRevision],
        ['v4', l2.id, 5, iv.header.revision],
      );
      assert.equal(iv.header.revision, withLease.header.revision + 1);

      // ignoreLease: keep the lease, change the value.
      await store.put({ key: k, value: bytes('v6'), ignoreLease: true });
      kv = (await store.range({ key: k })).kvs[0]!;
      assert.deepEqual([text(kv.value), kv.lease, kv.version], ['v6', l2.id, 6]);

      // A plain put detaches the lease.
      await store.put({ key: k, value: bytes('v7') });
      kv = (await store.range({ key: k })).kvs[0]!;
      assert.deepEqual([text(kv.value), kv.lease], ['v7', '0']);
      const ttl = await store.leaseTimeToLive(l2.id, true);
      assert.equal(ttl.keys.length, 0, 'a detached key is no longer listed under its old lease');

      const before = await currentRevision(store, k);
      await rejectsWith(store.put({ key: k, value: bytes('x'), ignoreValue: true }), 'valueProvided');
      await rejectsWith(
        store.put({ key: k, value: new Uint8Array(0), ignoreLease: true, lease: l1.id }),
        'leaseProvided',
      );
      await rejectsWith(
        store.put({ key: s.key('missing'), value: new Uint8Array(0), ignoreValue: true }),
        'keyNotFound',
      );
      await rejectsWith(
        store.put({ key: s.key('missing'), value: bytes('x'), ignoreLease: true }),
        'keyNotFound',
      );
      await rejectsWith(
        store.put({ key: s.key('other'), value: bytes('x'), lease: '987654321123' }),
        'leaseNotFound',
      );
      await rejectsWith(store.put({ key: new Uint8Array(0), value: bytes('x') }), 'emptyKey');
      assert.equal(await currentRevision(store, k), before, 'rejected puts write nothing');
      assert.equal((await store.range({ key: s.key('missing') })).count, 0);
      assert.equal((await store.range({ key: s.key('other') })).count, 0);
    } finally {
      await store.leaseRevoke(l1.id);
      await store.leaseRevoke(l2.id);
    }
  });

  test('put: binary keys and values round-trip byte for byte', T, async () => {
    const store = ctx.store();
    const s = ctx.space('put-binary');
    const key = Buffer.concat([Buffer.from(s.prefix), Buffer.from([0x00, 0xff, 0x80, 0x0a])]);
    const value = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0xc3, 0x28]);
    await store.put({ key, value });
    const got = (await store.range({ key })).kvs[0]!;
    assert.deepEqual(Buffer.from(got.key), key);
    assert.deepEqual(Buffer.from(got.value), value);
    const empty = await store.put({ key: s.key('empty'), value: new Uint8Array(0) });
    const e = (await store.range({ key: s.key('empty') })).kvs[0]!;
    assert.deepEqual([e.value.length, e.modRevision, e.version], [0, empty.header.revision, 1]);
  });

  test('put: a request over 1.5 MiB is requestTooLarge; one just under it is stored', T, async () => {
    const store = ctx.store();
    const s = ctx.space('put-large');
    const r0 = await currentRevision(store, s.prefix);
    // etcd's default --max-request-bytes is 1.5 MiB (beyond 2 MiB gRPC itself refuses the message).
    await rejectsWith(
      store.put({ key: s.key('big'), value: new Uint8Array(1.6 * 1024 * 1024) }),
      'requestTooLarge',
    );
    await rejectsWith(
      store.txn({
        compare: [],
        success: [{ put: { key: s.key('big'), value: new Uint8Array(1.6 * 1024 * 1024) } }],
        failure: [],
      }),
      'requestTooLarge',
    );
    assert.equal(await currentRevision(store, s.prefix), r0);
    const value = new Uint8Array(1024 * 1024).fill(7);
    await store.put({ key: s.key('ok'), value });
    const got = (await store.range({ key: s.key('ok') })).kvs[0]!;
    assert.equal(got.value.length, value.length);
    assert.ok(Buffer.from(got.value).equals(Buffer.from(value)));
  });

  test(
    'deleteRange: single, range, prefix, deleted count, prevKvs; deleting nothing keeps the revision',
    T,
    async () => {
      const store = ctx.store();
      const s = ctx.space('delete');
      for (const n of ['a', 'b', 'c', 'd', 'e', 'f'])
        await store.put({ key: s.key(n), value: bytes(`v-${n}`) });
      const r0 = await currentRevision(store, s.key('a'));

      const one = await store.deleteRange({ key: s.key('a') });
      assert.deepEqual([one.deleted, one.prevKvs.length, one.header.revision], [1, 0, r0 + 1]);

      const none = await store.deleteRange({ key: s.key('a'), prevKv: true });
      assert.deepEqual([none.deleted, none.prevKvs.length, none.header.revision], [0, 0, r0 + 1]);
      const noneRange = await store.deleteRange({ key: s.key('x'), rangeEnd: s.key('z') });
      assert.deepEqual([noneRange.deleted, noneRange.header.revision], [0, r0 + 1]);
      assert.equal(
        await currentRevision(store, s.key('a')),
        r0 + 1,
        'deleting nothing does not bump the revision',
      );

      const range = await store.deleteRange({ key: s.key('b'), rangeEnd: s.key('d'), prevKv: true });
      assert.equal(range.deleted, 2);
      assert.equal(range.header.revision, r0 + 2, 'one revision for the whole range');
      assert.deepEqual(
        range.prevKvs.map((kv) => [s.name(kv.key), text(kv.value), kv.version]),
        [
          ['b', 'v-b', 1],
          ['c', 'v-c', 1],
        ],
      );

      const rest = await store.deleteRange({ key: s.prefix, rangeEnd: s.end, prevKv: true });
      assert.equal(rest.deleted, 3);
      assert.deepEqual(names(s, rest.prevKvs), ['d', 'e', 'f']);
      assert.equal(rest.header.revision, r0 + 3);
      assert.equal((await store.range({ key: s.prefix, rangeEnd: s.end })).count, 0);
      // History still shows what was deleted.
      const past = await store.range({ key: s.prefix, rangeEnd: s.end, revision: r0 + 2 });
      assert.deepEqual(names(s, past.kvs), ['d', 'e', 'f']);

      await rejectsWith(store.deleteRange({ key: new Uint8Array(0) }), 'emptyKey');
    },
  );
}
