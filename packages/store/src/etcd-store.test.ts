import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, waitFor, type EtcdProcess } from '@photoncloud/test-utils';
import { EtcdStore } from './etcd-store.js';
import { StoreError } from './errors.js';
import { bytes, prefixEnd, text } from './keys.js';
import type { WatchResponse } from './types.js';

describe('EtcdStore against a real etcd 3.4', () => {
  let etcd: EtcdProcess;
  let store: EtcdStore;

  before(async () => {
    etcd = await startEtcd();
    store = new EtcdStore({ endpoints: [etcd.endpoint] });
  });
  after(async () => {
    await store?.close();
    await etcd?.stop();
  });

  test('put, get, revisions, versions, prev_kv', async () => {
    const p1 = await store.put({ key: bytes('kv/a'), value: bytes('1') });
    const p2 = await store.put({ key: bytes('kv/a'), value: bytes('2'), prevKv: true });
    assert.equal(p2.header.revision, p1.header.revision + 1);
    assert.equal(text(p2.prevKv!.value), '1');
    assert.match(p2.header.clusterId, /^\d+$/);
    assert.notEqual(p2.header.memberId, '0');
    const got = await store.range({ key: bytes('kv/a') });
    assert.equal(got.count, 1);
    const kv = got.kvs[0]!;
    assert.equal(text(kv.value), '2');
    assert.equal(kv.version, 2);
    assert.equal(kv.createRevision, p1.header.revision);
    assert.equal(kv.modRevision, p2.header.revision);
    assert.equal(kv.lease, '0');
    const old = await store.range({ key: bytes('kv/a'), revision: p1.header.revision });
    assert.equal(text(old.kvs[0]!.value), '1');
  });

  test('prefix ranges with limit, sort, keys-only and count-only; delete with prev_kv', async () => {
    for (const k of ['p/1', 'p/2', 'p/3']) await store.put({ key: bytes(k), value: bytes(`v${k}`) });
    const all = await store.range({
      key: bytes('p/'),
      rangeEnd: prefixEnd(bytes('p/')),
      sortOrder: 'descend',
    });
    assert.deepEqual(
      all.kvs.map((kv) => text(kv.key)),
      ['p/3', 'p/2', 'p/1'],
    );
    const lim = await store.range({ key: bytes('p/'), rangeEnd: prefixEnd(bytes('p/')), limit: 2 });
    assert.equal(lim.kvs.length, 2);
    assert.equal(lim.more, true);
    assert.equal(lim.count, 3);
    const keysOnly = await store.range({
      key: bytes('p/'),
      rangeEnd: prefixEnd(bytes('p/')),
      keysOnly: true,
    });
    assert.equal(keysOnly.kvs[0]!.value.length, 0);
    const countOnly = await store.range({
      key: bytes('p/'),
      rangeEnd: prefixEnd(bytes('p/')),
      countOnly: true,
    });
    assert.deepEqual([countOnly.count, countOnly.kvs.length], [3, 0]);
    const del = await store.deleteRange({ key: bytes('p/'), rangeEnd: prefixEnd(bytes('p/')), prevKv: true });
    assert.equal(del.deleted, 3);
    assert.deepEqual(
      del.prevKvs.map((kv) => text(kv.value)),
      ['vp/1', 'vp/2', 'vp/3'],
    );
    assert.equal((await store.range({ key: bytes('p/'), rangeEnd: prefixEnd(bytes('p/')) })).count, 0);
  });

  test('txn with compares on every target, nested txn, success and failure branches', async () => {
    const { header } = await store.put({ key: bytes('t/x'), value: bytes('a') });
    const ok = await store.txn({
      compare: [
        { key: bytes('t/x'), target: 'value', result: 'equal', value: bytes('a') },
        { key: bytes('t/x'), target: 'version', result: 'equal', version: 1 },
        { key: bytes('t/x'), target: 'mod', result: 'equal', modRevision: header.revision },
        { key: bytes('t/x'), target: 'create', result: 'less', createRevision: header.revision + 1 },
        { key: bytes('t/x'), target: 'lease', result: 'equal', lease: '0' },
      ],
      success: [
        { put: { key: bytes('t/x'), value: bytes('b'), prevKv: true } },
        { range: { key: bytes('t/x') } },
        { txn: { compare: [], success: [{ put: { key: bytes('t/y'), value: bytes('y') } }], failure: [] } },
      ],
      failure: [],
    });
    assert.equal(ok.succeeded, true);
    assert.equal(ok.header.revision, header.revision + 1);
    const [put, range, nested] = ok.responses;
    assert.ok(put && 'put' in put && range && 'range' in range && nested && 'txn' in nested);
    assert.equal(text(put.put.prevKv!.value), 'a');
    assert.equal(text(range.range.kvs[0]!.value), 'b');
    assert.equal(nested.txn.succeeded, true);
    assert.ok(range.range.header.revision > 0);

    const fail = await store.txn({
      compare: [{ key: bytes('t/x'), target: 'value', result: 'equal', value: bytes('zzz') }],
      success: [{ put: { key: bytes('t/x'), value: bytes('never') } }],
      failure: [{ deleteRange: { key: bytes('t/y') } }],
    });
    assert.equal(fail.succeeded, false);
    const del = fail.responses[0];
    assert.ok(del && 'deleteRange' in del);
    assert.equal(del.deleteRange.deleted, 1);
  });

  test("etcd's errors come back as StoreError kinds with etcd's messages", async () => {
    await assert.rejects(store.put({ key: new Uint8Array(0), value: bytes('v') }), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.kind, 'emptyKey');
      assert.equal(e.message, 'etcdserver: key is not provided');
      return true;
    });
    await assert.rejects(store.leaseRevoke('123456'), {
      kind: 'leaseNotFound',
      message: 'etcdserver: requested lease not found',
    });
    await assert.rejects(store.put({ key: bytes('nope'), value: new Uint8Array(0), ignoreValue: true }), {
      kind: 'keyNotFound',
    });
    await assert.rejects(
      store.txn({
        compare: [],
        success: [
          { put: { key: bytes('d'), value: bytes('1') } },
          { put: { key: bytes('d'), value: bytes('2') } },
        ],
        failure: [],
      }),
      { kind: 'duplicateKey' },
    );
    const { header } = await store.put({ key: bytes('c/1'), value: bytes('1') });
    await assert.rejects(store.range({ key: bytes('c/1'), revision: header.revision + 1000 }), {
      kind: 'futureRev',
    });
  });

  test('compaction: old revisions are gone, compacting twice fails', async () => {
    const a = await store.put({ key: bytes('cmp'), value: bytes('1') });
    await store.put({ key: bytes('cmp'), value: bytes('2') });
    await store.compact(a.header.revision + 1, true);
    await assert.rejects(store.range({ key: bytes('cmp'), revision: a.header.revision }), {
      kind: 'compacted',
      message: 'etcdserver: mvcc: required revision has been compacted',
    });
    await assert.rejects(store.compact(a.header.revision), { kind: 'compacted' });
  });

  test('watch: events in order with prev_kv, filters, history, cancel', async () => {
    const seen: WatchResponse[] = [];
    const w = await store.watch({ key: bytes('w/'), rangeEnd: prefixEnd(bytes('w/')), prevKv: true }, (r) =>
      seen.push(r),
    );
    const noDel: WatchResponse[] = [];
    const w2 = await store.watch({ key: bytes('w/a'), filters: ['nodelete'] }, (r) => noDel.push(r));
    const p1 = await store.put({ key: bytes('w/a'), value: bytes('1') });
    await store.put({ key: bytes('w/a'), value: bytes('2') });
    await store.deleteRange({ key: bytes('w/a') });
    const events = () => seen.flatMap((r) => r.events);
    await waitFor(() => events().length >= 3, { what: 'three events' });
    assert.deepEqual(
      events().map((e) => [e.type, text(e.kv.key), text(e.kv.value), e.prevKv ? text(e.prevKv.value) : null]),
      [
        ['PUT', 'w/a', '1', null],
        ['PUT', 'w/a', '2', '1'],
        ['DELETE', 'w/a', '', '2'],
      ],
    );
    assert.equal(events()[0]!.kv.modRevision, p1.header.revision);
    await waitFor(() => noDel.flatMap((r) => r.events).length >= 2);
    // One more write proves the DELETE was filtered rather than late.
    await store.put({ key: bytes('w/a'), value: bytes('3') });
    await waitFor(() => noDel.flatMap((r) => r.events).length >= 3);
    assert.deepEqual(
      noDel.flatMap((r) => r.events.map((e) => e.type)),
      ['PUT', 'PUT', 'PUT'],
    );

    // History: a watch from an old revision replays what happened since.
    const replay: WatchResponse[] = [];
    const w3 = await store.watch({ key: bytes('w/a'), startRevision: p1.header.revision }, (r) =>
      replay.push(r),
    );
    await waitFor(() => replay.flatMap((r) => r.events).length >= 4);
    assert.deepEqual(
      replay.flatMap((r) => r.events.map((e) => e.type)),
      ['PUT', 'PUT', 'DELETE', 'PUT'],
    );

    await w.cancel();
    await w.cancel();
    const before = events().length;
    const pb = await store.put({ key: bytes('w/b'), value: bytes('x') });
    await waitFor(() => replay.flatMap((r) => r.events).length >= 4);
    // A watcher that is still live sees the new write, so the cancelled one had its chance too.
    const probe: WatchResponse[] = [];
    const w4 = await store.watch({ key: bytes('w/b'), startRevision: pb.header.revision }, (r) =>
      probe.push(r),
    );
    await waitFor(() => probe.flatMap((r) => r.events).length >= 1);
    assert.equal(events().length, before);
    await Promise.all([w2.cancel(), w3.cancel(), w4.cancel()]);
  });

  test('watch from a compacted revision is cancelled with the compact revision', async () => {
    const a = await store.put({ key: bytes('wc'), value: bytes('1') });
    const b = await store.put({ key: bytes('wc'), value: bytes('2') });
    await store.compact(b.header.revision, true);
    const got: WatchResponse[] = [];
    await store.watch({ key: bytes('wc'), startRevision: a.header.revision }, (r) => got.push(r));
    const r = await waitFor(() => got.find((x) => x.canceled));
    assert.equal(r.compactRevision, b.header.revision);
  });

  test('leases: grant, attach, keep-alive, time-to-live with keys, list, revoke deletes keys', async () => {
    const g = await store.leaseGrant(60);
    assert.equal(g.ttl, 60);
    assert.match(g.id, /^\d+$/);
    await store.put({ key: bytes('l/k'), value: bytes('v'), lease: g.id });
    const ka = await store.leaseKeepAlive(g.id);
    assert.equal(ka.id, g.id);
    assert.equal(ka.ttl, 60);
    const [ka2, ka3] = await Promise.all([store.leaseKeepAlive(g.id), store.leaseKeepAlive(g.id)]);
    assert.equal(ka2.ttl, 60);
    assert.equal(ka3.ttl, 60);
    const ttl = await store.leaseTimeToLive(g.id, true);
    assert.equal(ttl.grantedTtl, 60);
    assert.ok(ttl.ttl > 0 && ttl.ttl <= 60);
    assert.deepEqual(ttl.keys.map(text), ['l/k']);
    assert.ok((await store.leaseLeases()).leases.includes(g.id));
    const kv = (await store.range({ key: bytes('l/k') })).kvs[0]!;
    assert.equal(kv.lease, g.id);
    await store.leaseRevoke(g.id);
    const after = await store.range({ key: bytes('l/k') });
    assert.equal(after.count, 0, JSON.stringify(after));
    assert.equal((await store.leaseTimeToLive(g.id)).ttl, -1);
    // etcd answers a keep-alive for an unknown lease with TTL 0.
    assert.equal((await store.leaseKeepAlive(g.id)).ttl, 0);
    const fixed = await store.leaseGrant(30, '12345');
    assert.equal(fixed.id, '12345');
    await assert.rejects(store.leaseGrant(30, '12345'), { kind: 'leaseExists' });
    await assert.rejects(store.put({ key: bytes('l/x'), value: bytes('v'), lease: '999' }), {
      kind: 'leaseNotFound',
    });
  });

  test('member list and status describe the single member', async () => {
    const { members, header } = await store.memberList();
    assert.equal(members.length, 1);
    assert.equal(members[0]!.id, header.memberId);
    assert.deepEqual(members[0]!.clientUrls, [etcd.clientUrl]);
    const st = await store.status();
    assert.match(st.version, /^3\.4\./);
    assert.equal(st.leader, header.memberId);
    assert.ok(st.dbSize > 0);
    assert.ok(st.raftIndex > 0);
  });
});

describe('EtcdStore transport failures', () => {
  test('an unreachable endpoint fails with unavailable, and a closed store refuses calls', async () => {
    const { freePort } = await import('@photoncloud/test-utils');
    const port = await freePort();
    const store = new EtcdStore({ endpoints: [`127.0.0.1:${port}`], dialTimeoutMs: 300 });
    await assert.rejects(
      store.range({ key: bytes('a') }),
      (e: unknown) => e instanceof StoreError && e.kind === 'unavailable',
    );
    await assert.rejects(
      store.watch({ key: bytes('a') }, () => {}),
      { kind: 'unavailable' },
    );
    await store.close();
    await assert.rejects(store.put({ key: bytes('a'), value: bytes('b') }), { kind: 'unavailable' });
  });

  test('watches resume after the server restarts, without losing or repeating events', async () => {
    const { tempDir } = await import('@photoncloud/test-utils');
    const dir = await tempDir('etcd-restart-');
    let etcd = await startEtcd({ dataDir: dir.path });
    const store = new EtcdStore({ endpoints: [etcd.endpoint], dialTimeoutMs: 10_000 });
    try {
      const got: string[] = [];
      await store.watch({ key: bytes('r/'), rangeEnd: prefixEnd(bytes('r/')) }, (r) => {
        for (const e of r.events) got.push(text(e.kv.value));
      });
      await store.put({ key: bytes('r/1'), value: bytes('before') });
      await waitFor(() => got.length === 1);
      await etcd.stop();
      // Same member, same ports: the store's channel reconnects to the address it knows.
      etcd = await restartOnSameEndpoint(etcd, dir.path);
      const writer = new EtcdStore({ endpoints: [etcd.endpoint] });
      await writer.put({ key: bytes('r/2'), value: bytes('after') });
      await writer.close();
      await waitFor(() => got.length === 2, { timeoutMs: 20_000, what: 'event after restart' });
      assert.deepEqual(got, ['before', 'after']);
    } finally {
      await store.close();
      await etcd.stop();
      await dir.cleanup();
    }
  });
});

/** Start etcd again on the endpoint the old process used (its data dir remembers the member). */
function restartOnSameEndpoint(old: EtcdProcess, dataDir: string): Promise<EtcdProcess> {
  return startEtcd({
    dataDir,
    clientPort: Number(old.endpoint.split(':')[1]),
    peerPort: Number(old.peerUrl.split(':')[2]),
  });
}
