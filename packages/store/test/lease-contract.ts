/** Contract: leases — grant, time-to-live, keep-alive, revoke, listing and expiry. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '@photoncloud/test-utils';
import { bytes, text } from '../src/keys.js';
import {
  collect,
  currentRevision,
  randomLeaseId,
  rejectsWith,
  WAIT_MS,
  type ContractContext,
} from './contract-helpers.js';

const T = { timeout: 60_000 };

/** Register the lease tests. */
export function leaseContract(ctx: ContractContext): void {
  test('lease: grant with a store-chosen or caller-chosen ID; an existing ID is leaseExists', T, async () => {
    const store = ctx.store();
    const chosen = await store.leaseGrant(120);
    assert.match(chosen.id, /^[1-9]\d*$/);
    assert.equal(chosen.ttl, 120);
    assert.ok(chosen.header.revision >= 1);
    const other = await store.leaseGrant(120, '0');
    assert.notEqual(other.id, chosen.id, 'store-chosen IDs are unique');

    const id = randomLeaseId();
    const mine = await store.leaseGrant(90, id);
    assert.deepEqual([mine.id, mine.ttl], [id, 90]);
    await rejectsWith(store.leaseGrant(90, id), 'leaseExists');
    await rejectsWith(store.leaseGrant(90, chosen.id), 'leaseExists');
    await rejectsWith(store.leaseGrant(9_000_000_001), 'leaseTtlTooLarge');

    const listed = (await store.leaseLeases()).leases;
    for (const l of [chosen.id, other.id, id]) assert.ok(listed.includes(l), `lease ${l} is listed`);
    for (const l of [chosen.id, other.id, id]) await store.leaseRevoke(l);
    const after = (await store.leaseLeases()).leases;
    for (const l of [chosen.id, other.id, id])
      assert.ok(!after.includes(l), `revoked lease ${l} is not listed`);
    // A revoked ID is free again.
    const again = await store.leaseGrant(60, id);
    assert.equal(again.id, id);
    await store.leaseRevoke(id);
  });

  test('lease: timeToLive with keys, keepAlive, unknown leases', T, async () => {
    const store = ctx.store();
    const s = ctx.space('lease-ttl');
    const l = await store.leaseGrant(600);
    try {
      await store.put({ key: s.key('b'), value: bytes('1'), lease: l.id });
      await store.put({ key: s.key('a'), value: bytes('1'), lease: l.id });
      await store.put({ key: s.key('free'), value: bytes('1') });
      const ttl = await store.leaseTimeToLive(l.id, true);
      assert.equal(ttl.id, l.id);
      assert.equal(ttl.grantedTtl, 600);
      assert.ok(ttl.ttl > 0 && ttl.ttl <= 600, `remaining ttl ${ttl.ttl} within (0, 600]`);
      assert.deepEqual(ttl.keys.map((k) => s.name(k)).sort(), ['a', 'b']);
      const noKeys = await store.leaseTimeToLive(l.id, false);
      assert.equal(noKeys.keys.length, 0, 'keys only when asked for');
      assert.equal(noKeys.grantedTtl, 600);

      const ka = await store.leaseKeepAlive(l.id);
      assert.deepEqual([ka.id, ka.ttl], [l.id, 600]);
      assert.ok(ka.header.revision >= 1);
      // Keep-alives do not write.
      const r0 = await currentRevision(store, s.key('a'));
      await store.leaseKeepAlive(l.id);
      assert.equal(await currentRevision(store, s.key('a')), r0);

      const unknown = randomLeaseId();
      const missing = await store.leaseTimeToLive(unknown, true);
      assert.equal(missing.ttl, -1);
      const kaMissing = await store.leaseKeepAlive(unknown);
      assert.equal(kaMissing.ttl, 0, 'keep-alive of an unknown lease answers TTL 0');
      await rejectsWith(store.leaseRevoke(unknown), 'leaseNotFound');
      await rejectsWith(store.put({ key: s.key('c'), value: bytes('1'), lease: unknown }), 'leaseNotFound');
    } finally {
      await store.leaseRevoke(l.id);
    }
  });

  test('lease: revoke deletes every attached key in one revision', T, async () => {
    const store = ctx.store();
    const s = ctx.space('lease-revoke');
    const l = await store.leaseGrant(600);
    const other = await store.leaseGrant(600);
    for (const n of ['a', 'b', 'c', 'moved', 'deleted'])
      await store.put({ key: s.key(n), value: bytes(n), lease: l.id });
    await store.put({ key: s.key('free'), value: bytes('f') });
    // A key re-attached to another lease, or deleted, no longer belongs to the first one.
    await store.put({ key: s.key('moved'), value: bytes('m'), lease: other.id });
    await store.deleteRange({ key: s.key('deleted') });
    assert.deepEqual((await store.leaseTimeToLive(l.id, true)).keys.map((k) => s.name(k)).sort(), [
      'a',
      'b',
      'c',
    ]);
    assert.deepEqual(
      (await store.leaseTimeToLive(other.id, true)).keys.map((k) => s.name(k)),
      ['moved'],
    );
    const w = await collect(store, { key: s.prefix, rangeEnd: s.end });
    const r0 = await currentRevision(store, s.key('a'));

    await store.leaseRevoke(l.id);
    assert.equal(await currentRevision(store, s.key('a')), r0 + 1, 'one revision for the whole revoke');
    const left = await store.range({ key: s.prefix, rangeEnd: s.end });
    assert.deepEqual(
      left.kvs.map((kv) => [s.name(kv.key), kv.lease]),
      [
        ['free', '0'],
        ['moved', other.id],
      ],
    );
    const events = await w.waitEvents(3);
    assert.deepEqual(events.map((e) => [e.type, s.name(e.kv.key), e.kv.modRevision]).sort(), [
      ['DELETE', 'a', r0 + 1],
      ['DELETE', 'b', r0 + 1],
      ['DELETE', 'c', r0 + 1],
    ]);
    await w.watcher.cancel();
    assert.equal((await store.leaseTimeToLive(l.id)).ttl, -1);
    assert.ok(!(await store.leaseLeases()).leases.includes(l.id));
    await rejectsWith(store.leaseRevoke(l.id), 'leaseNotFound');
    await store.leaseRevoke(other.id);
    assert.equal((await store.range({ key: s.key('moved') })).count, 0);
  });

  test('lease: expiry deletes the attached keys', { timeout: 90_000 }, async () => {
    const store = ctx.store();
    const s = ctx.space('lease-expiry');
    // etcd 3.4 raises TTLs below its minimum (2 s with default timings); ChainFire grants 2 s as asked.
    const l = await store.leaseGrant(2);
    assert.ok(l.ttl >= 2 && l.ttl <= 10, `granted ttl ${l.ttl}`);
    const w = await collect(store, { key: s.prefix, rangeEnd: s.end, prevKv: true });
    await store.put({ key: s.key('a'), value: bytes('a'), lease: l.id });
    await store.put({ key: s.key('b'), value: bytes('b'), lease: l.id });
    await store.put({ key: s.key('free'), value: bytes('f') });

    // Bounded wait: the TTL plus a generous margin for slow machines.
    await waitFor(
      async () => (await store.range({ key: s.key('a'), rangeEnd: s.key('c'), countOnly: true })).count === 0,
      {
        timeoutMs: l.ttl * 1000 + WAIT_MS,
        intervalMs: 100,
        what: 'leased keys to expire',
      },
    );
    const events = await w.waitEvents(5);
    const deletes = events.filter((e) => e.type === 'DELETE');
    assert.deepEqual(deletes.map((e) => s.name(e.kv.key)).sort(), ['a', 'b']);
    assert.equal(deletes[0]!.kv.modRevision, deletes[1]!.kv.modRevision, 'one revision for the expiry');
    assert.deepEqual(deletes.map((e) => text(e.prevKv!.value)).sort(), ['a', 'b']);
    await w.watcher.cancel();
    assert.equal((await store.range({ key: s.key('free') })).count, 1, 'keys without the lease stay');
    assert.equal((await store.leaseTimeToLive(l.id)).ttl, -1);
    assert.ok(!(await store.leaseLeases()).leases.includes(l.id));
    assert.equal((await store.leaseKeepAlive(l.id)).ttl, 0);
  });
}
