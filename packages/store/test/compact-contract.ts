/** Contract: compaction — history before the revision goes, the newest versions stay, errors as etcd's. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, text } from '../src/keys.js';
import {
  collect,
  currentRevision,
  ev,
  names,
  rejectsWith,
  type ContractContext,
} from './contract-helpers.js';

const T = { timeout: 60_000 };

/** Register the compaction tests (they compact the shared store: history of earlier tests goes too). */
export function compactContract(ctx: ContractContext): void {
  test('compact: old revisions become unreadable, live keys keep their newest version', T, async () => {
    const store = ctx.store();
    const s = ctx.space('compact');
    const w1 = await store.put({ key: s.key('k'), value: bytes('1') });
    const w2 = await store.put({ key: s.key('k'), value: bytes('2') });
    const still = await store.put({ key: s.key('still'), value: bytes('s') });
    await store.put({ key: s.key('dead'), value: bytes('d') });
    await store.deleteRange({ key: s.key('dead') });
    const w3 = await store.put({ key: s.key('k'), value: bytes('3') });
    const after = await store.put({ key: s.key('k'), value: bytes('4') });
    const at = w3.header.revision;

    // A watcher already following live changes is not disturbed by a compaction.
    const live = await collect(store, { key: s.key('k') });
    const res = await store.compact(at);
    assert.ok(res.header.revision >= after.header.revision);

    await rejectsWith(store.range({ key: s.key('k'), revision: w1.header.revision }), 'compacted');
    await rejectsWith(store.range({ key: s.key('k'), revision: at - 1 }), 'compacted');
    // The compaction revision itself stays readable, with each key's newest version as of it.
    const atRev = await store.range({ key: s.prefix, rangeEnd: s.end, revision: at });
    assert.deepEqual(
      atRev.kvs.map((kv) => [s.name(kv.key), text(kv.value), kv.version]),
      [
        ['k', '3', 3],
        ['still', 's', 1],
      ],
    );
    const now = await store.range({ key: s.prefix, rangeEnd: s.end });
    assert.deepEqual(names(s, now.kvs), ['k', 'still']);
    const k = now.kvs[0]!;
    assert.deepEqual(
      [text(k.value), k.version, k.createRevision, k.modRevision],
      ['4', 4, w1.header.revision, after.header.revision],
      'create revision and version survive compaction',
    );
    const st = now.kvs[1]!;
    assert.deepEqual(
      [st.createRevision, st.modRevision, st.version],
      [still.header.revision, still.header.revision, 1],
    );
    assert.ok(w2.header.revision < at);

    // Compacting at or below the compacted revision, or beyond the newest one, is an error.
    await rejectsWith(store.compact(at), 'compacted');
    await rejectsWith(store.compact(at - 1), 'compacted');
    const cur = await currentRevision(store, s.key('k'));
    await rejectsWith(store.compact(cur + 1), 'futureRev');
    await rejectsWith(store.compact(cur + 100), 'futureRev');

    // A watch from before the compaction is cancelled and told the compaction revision.
    const old = await collect(store, { key: s.key('k'), startRevision: at - 1 });
    const cancelled = await old.waitResponse((r) => r.canceled === true);
    assert.equal(cancelled.compactRevision, at);
    assert.equal(cancelled.events.length, 0);
    assert.equal(old.events().length, 0);
    await old.watcher.cancel();

    // A watch from the compaction revision itself still replays.
    const ok = await collect(store, { key: s.key('k'), startRevision: at });
    const evs = await ok.waitEvents(2);
    assert.deepEqual(
      evs.map((e) => ev(s, e)),
      [
        ['PUT', 'k', '3', at],
        ['PUT', 'k', '4', after.header.revision],
      ],
    );
    assert.ok(ok.responses.every((r) => !r.canceled));
    await ok.watcher.cancel();

    // Compacting at the newest revision is allowed; later writes are unaffected.
    await store.compact(cur);
    const w5 = await store.put({ key: s.key('k'), value: bytes('5') });
    assert.equal(w5.header.revision, cur + 1);
    assert.equal((await store.range({ key: s.key('k'), revision: cur })).kvs[0]!.version, 4);
    const liveEvents = await live.waitEvents(1);
    assert.deepEqual(
      liveEvents.map((e) => ev(s, e)),
      [['PUT', 'k', '5', w5.header.revision]],
    );
    assert.ok(live.responses.every((r) => !r.canceled));
    await live.watcher.cancel();
  });
}
