/** Contract: watches — live events, history replay, prevKv, filters, batching and cancellation. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, text } from '../src/keys.js';
import { collect, currentRevision, ev, type ContractContext } from './contract-helpers.js';

const T = { timeout: 60_000 };

/** Register the watch tests. */
export function watchContract(ctx: ContractContext): void {
  test('watch: a key sees its puts and deletes, and nothing of other keys', T, async () => {
    const store = ctx.store();
    const s = ctx.space('watch-key');
    const w = await collect(store, { key: s.key('k') });
    const p1 = await store.put({ key: s.key('k'), value: bytes('1') });
    await store.put({ key: s.key('k2'), value: bytes('x') }); // shares the key as a prefix: not watched
    await store.put({ key: s.key('j'), value: bytes('x') });
    const p2 = await store.put({ key: s.key('k'), value: bytes('2') });
    const d = await store.deleteRange({ key: s.key('k') });
    const events = await w.waitEvents(3);
    assert.deepEqual(
      events.map((e) => ev(s, e)),
      [
        ['PUT', 'k', '1', p1.header.revision],
        ['PUT', 'k', '2', p2.header.revision],
        ['DELETE', 'k', '', d.header.revision],
      ],
    );
    const [e1, e2, e3] = events;
    assert.deepEqual([e1!.kv.version, e1!.kv.createRevision], [1, p1.header.revision]);
    assert.deepEqual([e2!.kv.version, e2!.kv.createRevision], [2, p1.header.revision]);
    // A DELETE event carries the key, the deletion revision, and nothing else.
    assert.deepEqual(
      [e3!.kv.version, e3!.kv.createRevision, e3!.kv.value.length, e3!.kv.lease],
      [0, 0, 0, '0'],
    );
    assert.equal(e1!.prevKv, undefined, 'prevKv only when asked for');
    for (const r of w.responses) {
      for (const e of r.events)
        assert.ok(r.header.revision >= e.kv.modRevision, 'header revision >= event revision');
    }
    await w.watcher.cancel();
  });

  test('watch: a prefix and a [key, rangeEnd) range', T, async () => {
    const store = ctx.store();
    const s = ctx.space('watch-range');
    const prefix = await collect(store, {
      key: s.key('p/'),
      rangeEnd: bytes(text(s.key('p/')).slice(0, -1) + '0'),
    });
    const range = await collect(store, { key: s.key('b'), rangeEnd: s.key('d') });
    for (const n of ['a', 'b', 'c', 'd', 'p/1', 'p/2', 'p0', 'p'])
      await store.put({ key: s.key(n), value: bytes(n) });
    await store.deleteRange({ key: s.key('p/1') });
    // A last write inside each watched range: events come in revision order, so anything wrongly
    // delivered before it would show up among the events awaited.
    await store.put({ key: s.key('p/3'), value: bytes('sentinel') });
    await store.put({ key: s.key('c'), value: bytes('sentinel') });
    const pe = await prefix.waitEvents(4);
    assert.deepEqual(
      pe.map((e) => [e.type, s.name(e.kv.key)]),
      [
        ['PUT', 'p/1'],
        ['PUT', 'p/2'],
        ['DELETE', 'p/1'],
        ['PUT', 'p/3'],
      ],
    );
    const re = await range.waitEvents(3);
    assert.deepEqual(
      re.map((e) => [s.name(e.kv.key), text(e.kv.value)]),
      [
        ['b', 'b'],
        ['c', 'c'],
        ['c', 'sentinel'],
      ],
    );
    await prefix.watcher.cancel();
    await range.watcher.cancel();
  });

  test('watch: startRevision replays history, then continues live with no gap or duplicate', T, async () => {
    const store = ctx.store();
    const s = ctx.space('watch-history');
    const revs: number[] = [];
    for (let i = 1; i <= 4; i++)
      revs.push((await store.put({ key: s.key(`k${i % 2}`), value: bytes(`${i}`) })).header.revision);
    revs.push((await store.deleteRange({ key: s.key('k1') })).header.revision);
    const w = await collect(store, { key: s.prefix, rangeEnd: s.end, startRevision: revs[1]! });
    // Write at once, while the replay may still be under way.
    for (let i = 6; i <= 8; i++)
      revs.push((await store.put({ key: s.key(`k${i % 2}`), value: bytes(`${i}`) })).header.revision);
    const events = await w.waitEvents(7);
    assert.deepEqual(
      events.map((e) => ev(s, e)),
      [
        ['PUT', 'k0', '2', revs[1]],
        ['PUT', 'k1', '3', revs[2]],
        ['PUT', 'k0', '4', revs[3]],
        ['DELETE', 'k1', '', revs[4]],
        ['PUT', 'k0', '6', revs[5]],
        ['PUT', 'k1', '7', revs[6]],
        ['PUT', 'k0', '8', revs[7]],
      ],
    );
    // Versions replayed from history are the versions of the time.
    assert.deepEqual(
      events.map((e) => e.kv.version),
      [1, 2, 2, 0, 3, 1, 4],
    );
    // A later write arrives exactly once.
    const last = await store.put({ key: s.key('k0'), value: bytes('9') });
    const all = await w.waitEvents(8);
    assert.equal(all.length, 8);
    assert.equal(all[7]!.kv.modRevision, last.header.revision);
    await w.watcher.cancel();

    // A watch without startRevision sees only what comes after it was created.
    const now = await collect(store, { key: s.prefix, rangeEnd: s.end });
    const next = await store.put({ key: s.key('k1'), value: bytes('10') });
    const [only] = await now.waitEvents(1);
    assert.equal(only!.kv.modRevision, next.header.revision);
    assert.equal(now.events().length, 1);
    await now.watcher.cancel();
  });

  test('watch: a startRevision in the future delivers from that revision on', T, async () => {
    const store = ctx.store();
    const s = ctx.space('watch-future');
    const r0 = await currentRevision(store, s.key('k'));
    const w = await collect(store, { key: s.key('k'), startRevision: r0 + 2 });
    const early = await store.put({ key: s.key('k'), value: bytes('early') });
    const onTime = await store.put({ key: s.key('k'), value: bytes('on-time') });
    const late = await store.put({ key: s.key('k'), value: bytes('late') });
    assert.deepEqual([early.header.revision, onTime.header.revision], [r0 + 1, r0 + 2]);
    const events = await w.waitEvents(2);
    assert.deepEqual(
      events.map((e) => ev(s, e)),
      [
        ['PUT', 'k', 'on-time', r0 + 2],
        ['PUT', 'k', 'late', late.header.revision],
      ],
    );
    await w.watcher.cancel();
  });

  test('watch: prevKv on puts and deletes', T, async () => {
    const store = ctx.store();
    const s = ctx.space('watch-prevkv');
    const c = await store.put({ key: s.key('k'), value: bytes('v1') });
    const w = await collect(store, { key: s.key('k'), prevKv: true });
    await store.put({ key: s.key('k'), value: bytes('v2') });
    const d = await store.deleteRange({ key: s.key('k') });
    await store.put({ key: s.key('k'), value: bytes('v3') });
    const [put, del, recreate] = await w.waitEvents(3);
    assert.deepEqual(
      [text(put!.prevKv!.value), put!.prevKv!.version, put!.prevKv!.modRevision, put!.prevKv!.createRevision],
      ['v1', 1, c.header.revision, c.header.revision],
    );
    assert.equal(del!.type, 'DELETE');
    assert.equal(del!.kv.modRevision, d.header.revision);
    assert.deepEqual([text(del!.prevKv!.value), del!.prevKv!.version], ['v2', 2]);
    assert.equal(recreate!.prevKv, undefined, 'no prevKv for a key that did not exist');
    await w.watcher.cancel();

    // prevKv on a replay from history too.
    const h = await collect(store, { key: s.key('k'), prevKv: true, startRevision: d.header.revision });
    const [hd, hp] = await h.waitEvents(2);
    assert.deepEqual([hd!.type, text(hd!.prevKv!.value)], ['DELETE', 'v2']);
    assert.deepEqual([hp!.type, hp!.prevKv], ['PUT', undefined]);
    await h.watcher.cancel();
  });

  test('watch: filters noput and nodelete', T, async () => {
    const store = ctx.store();
    const s = ctx.space('watch-filters');
    const noput = await collect(store, { key: s.prefix, rangeEnd: s.end, filters: ['noput'] });
    const nodelete = await collect(store, { key: s.prefix, rangeEnd: s.end, filters: ['nodelete'] });
    const both = await collect(store, { key: s.prefix, rangeEnd: s.end, filters: ['noput', 'nodelete'] });
    const all = await collect(store, { key: s.prefix, rangeEnd: s.end });
    await store.put({ key: s.key('a'), value: bytes('1') });
    await store.put({ key: s.key('a'), value: bytes('2') });
    await store.deleteRange({ key: s.key('a') });
    await store.put({ key: s.key('b'), value: bytes('3') });
    await store.deleteRange({ key: s.key('b') });
    await store.put({ key: s.key('c'), value: bytes('4') });
    // Events arrive in revision order: once each watcher's last expected event is in, a wrongly
    // delivered one would be among those before it.
    await all.waitEvents(6);
    const d = await noput.waitEvents(2);
    assert.deepEqual(
      d.map((e) => [e.type, s.name(e.kv.key)]),
      [
        ['DELETE', 'a'],
        ['DELETE', 'b'],
      ],
    );
    const p = await nodelete.waitEvents(4);
    assert.deepEqual(
      p.map((e) => [e.type, s.name(e.kv.key), text(e.kv.value)]),
      [
        ['PUT', 'a', '1'],
        ['PUT', 'a', '2'],
        ['PUT', 'b', '3'],
        ['PUT', 'c', '4'],
      ],
    );
    assert.equal(nodelete.events().length, 4);
    assert.equal(noput.events().length, 2);
    assert.equal(both.events().length, 0);
    for (const w of [noput, nodelete, both, all]) await w.watcher.cancel();
  });

  test('watch: all events of one txn revision arrive in one response', T, async () => {
    const store = ctx.store();
    const s = ctx.space('watch-batch');
    await store.put({ key: s.key('gone'), value: bytes('g') });
    const w = await collect(store, { key: s.prefix, rangeEnd: s.end });
    const t = await store.txn({
      compare: [],
      success: [
        { put: { key: s.key('c'), value: bytes('3') } },
        { put: { key: s.key('a'), value: bytes('1') } },
        { deleteRange: { key: s.key('gone') } },
        { put: { key: s.key('b'), value: bytes('2') } },
      ],
      failure: [],
    });
    const rev = t.header.revision;
    const after = await store.put({ key: s.key('z'), value: bytes('z') });
    await w.waitEvents(5);
    const holding = w.responses.filter((r) => r.events.some((e) => e.kv.modRevision === rev));
    assert.equal(holding.length, 1, 'one response carries the whole txn');
    const batch = holding[0]!.events.filter((e) => e.kv.modRevision === rev);
    // Within a revision, events come in the order the txn applied them.
    assert.deepEqual(
      batch.map((e) => [e.type, s.name(e.kv.key)]),
      [
        ['PUT', 'c'],
        ['PUT', 'a'],
        ['DELETE', 'gone'],
        ['PUT', 'b'],
      ],
    );
    assert.equal(w.events().at(-1)!.kv.modRevision, after.header.revision);
    await w.watcher.cancel();

    // Replayed history keeps a revision in one response as well.
    const h = await collect(store, { key: s.prefix, rangeEnd: s.end, startRevision: rev });
    await h.waitEvents(5);
    assert.equal(h.responses.filter((r) => r.events.some((e) => e.kv.modRevision === rev)).length, 1);
    await h.watcher.cancel();
  });

  test('watch: cancel stops delivery; cancel is idempotent; other watchers go on', T, async () => {
    const store = ctx.store();
    const s = ctx.space('watch-cancel');
    const a = await collect(store, { key: s.key('k') });
    const b = await collect(store, { key: s.key('k') });
    await store.put({ key: s.key('k'), value: bytes('1') });
    await a.waitEvents(1);
    await b.waitEvents(1);
    await a.watcher.cancel();
    await a.watcher.cancel();
    await store.put({ key: s.key('k'), value: bytes('2') });
    await store.put({ key: s.key('k'), value: bytes('3') });
    await b.waitEvents(3);
    assert.equal(a.events().length, 1, 'a cancelled watcher receives nothing more');
    await b.watcher.cancel();
    const r = await currentRevision(store, s.key('k'));
    await store.put({ key: s.key('k'), value: bytes('4') });
    // Nothing to wait on but a fresh watcher from history: it sees the write, the cancelled ones do not.
    const c = await collect(store, { key: s.key('k'), startRevision: r + 1 });
    await c.waitEvents(1);
    assert.deepEqual([a.events().length, b.events().length], [1, 3]);
    await c.watcher.cancel();
  });

  test('watch: many watchers on one store each get their own events', T, async () => {
    const store = ctx.store();
    const s = ctx.space('watch-many');
    const ws = await Promise.all(
      Array.from({ length: 8 }, (_, i) => collect(store, { key: s.key(`k${i}`) })),
    );
    await store.txn({
      compare: [],
      success: Array.from({ length: 8 }, (_, i) => ({ put: { key: s.key(`k${i}`), value: bytes(`${i}`) } })),
      failure: [],
    });
    for (const [i, w] of ws.entries()) {
      const [e] = await w.waitEvents(1);
      assert.equal(s.name(e!.kv.key), `k${i}`);
    }
    await Promise.all(ws.map((w) => w.watcher.cancel()));
    assert.ok(ws.every((w) => w.events().length === 1));
  });
}
