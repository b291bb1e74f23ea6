/** ChainFire engine: leases (grant, attach, keepalive, time-to-live, revoke, expiry). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@photoncloud/test-utils';
import { Collector, b, ev, openTestEngine, rejectsKind, s } from './engine-helpers.js';

test('grant: minimum TTL, explicit IDs, leaseExists, too-large TTL, list', async (t) => {
  const { cf } = await openTestEngine(t, { minLeaseTtl: 5 });
  const g = await cf.leaseGrant(1);
  assert.equal(g.ttl, 5, 'raised to the minimum');
  assert.match(g.id, /^[1-9]\d*$/);
  assert.ok(BigInt(g.id) < 2n ** 63n);
  const mine = await cf.leaseGrant(30, '12345');
  assert.deepEqual([mine.id, mine.ttl], ['12345', 30]);
  await rejectsKind(cf.leaseGrant(30, '12345'), 'leaseExists');
  await rejectsKind(cf.leaseGrant(9000000001), 'leaseTtlTooLarge');
  const list = await cf.leaseLeases();
  assert.deepEqual([...list.leases].sort(), [g.id, '12345'].sort());
  // Grants do not create revisions.
  assert.equal(list.header.revision, 1);
});

test('keys attach to leases; revoke deletes them all in one revision; unknown leases', async (t) => {
  const { cf } = await openTestEngine(t);
  const l = await cf.leaseGrant(60);
  await cf.put({ key: b('k1'), value: b('1'), lease: l.id });
  await cf.put({ key: b('k2'), value: b('2'), lease: l.id });
  await cf.put({ key: b('k3'), value: b('3'), lease: l.id });
  // Re-putting without the lease detaches k3.
  await cf.put({ key: b('k3'), value: b('3b') });
  const ttl = await cf.leaseTimeToLive(l.id, true);
  assert.deepEqual(ttl.keys.map(s), ['k1', 'k2']);
  assert.equal(ttl.grantedTtl, 60);
  assert.ok(ttl.ttl > 55 && ttl.ttl <= 60, `remaining ${ttl.ttl}`);
  assert.deepEqual((await cf.leaseTimeToLive(l.id)).keys, []);
  const w = new Collector();
  await cf.watch({ key: b('k'), rangeEnd: b('l') }, w.listener);
  const rev = await cf.leaseRevoke(l.id);
  assert.equal(rev.header.revision, 6);
  assert.deepEqual(w.events().map(ev), [
    ['DELETE', 'k1', 6, ''],
    ['DELETE', 'k2', 6, ''],
  ]);
  assert.equal(w.responses.length, 1, 'one revision, one watch response');
  const left = await cf.range({ key: b('k'), rangeEnd: b('l') });
  assert.deepEqual(
    left.kvs.map((kv) => s(kv.key)),
    ['k3'],
  );
  await rejectsKind(cf.leaseRevoke(l.id), 'leaseNotFound');
  await rejectsKind(cf.leaseRevoke('not-a-number'), 'leaseNotFound');
  assert.equal((await cf.leaseKeepAlive(l.id)).ttl, 0);
  assert.deepEqual(
    await cf.leaseTimeToLive(l.id).then((r) => [r.ttl, r.grantedTtl, r.keys.length]),
    [-1, 0, 0],
  );
  await rejectsKind(cf.put({ key: b('k9'), value: b(''), lease: l.id }), 'leaseNotFound');
});

test('an unrefreshed lease expires and its keys are deleted together; a kept-alive one survives', async (t) => {
  const { cf } = await openTestEngine(t, { minLeaseTtl: 1, leaseCheckIntervalMs: 50 });
  const short = await cf.leaseGrant(1);
  const kept = await cf.leaseGrant(3);
  await cf.put({ key: b('e/a'), value: b('1'), lease: short.id });
  await cf.put({ key: b('e/b'), value: b('2'), lease: short.id });
  await cf.put({ key: b('e/kept'), value: b('3'), lease: kept.id });
  const w = new Collector();
  await cf.watch({ key: b('e/'), rangeEnd: b('e0') }, w.listener);
  const stop = { done: false };
  const keeper = (async () => {
    for (let i = 0; i < 200 && !stop.done; i++) {
      const r = await cf.leaseKeepAlive(kept.id);
      assert.equal(r.ttl, 3);
      await sleep(300);
    }
  })();
  try {
    await waitFor(async () => (await cf.range({ key: b('e/a') })).kvs.length === 0, {
      timeoutMs: 15_000,
      what: 'lease expiry',
    });
    // Both keys went in one revision.
    const dels = w.events().filter((e) => e.type === 'DELETE');
    assert.deepEqual(
      dels.map((e) => s(e.kv.key)),
      ['e/a', 'e/b'],
    );
    assert.equal(dels[0]!.kv.modRevision, dels[1]!.kv.modRevision);
    assert.equal((await cf.leaseTimeToLive(short.id)).ttl, -1);
    assert.ok(!(await cf.leaseLeases()).leases.includes(short.id));
    // Outlive the kept lease's TTL while refreshing it.
    await sleep(3500);
    assert.equal((await cf.range({ key: b('e/kept') })).kvs.length, 1);
    assert.ok((await cf.leaseTimeToLive(kept.id)).ttl >= 0);
  } finally {
    stop.done = true;
    await keeper;
  }
});
