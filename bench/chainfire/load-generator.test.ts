import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startEtcd, type EtcdProcess } from '@photoncloud/test-utils';
import { openKvClients, preloadKeys, runLoad } from './load-generator.js';

// The generator runs against the real anchor (etcd 3.4): every scenario is bounded by a request count
// far below what the time cap allows, so the counts below are exact and nothing depends on timing.
let etcd: EtcdProcess;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

async function countKeys(prefix: string): Promise<number> {
  const [kv] = await openKvClients(etcd.endpoint, 1);
  try {
    const end = Buffer.from(prefix);
    end[end.length - 1]! += 1;
    const res = await new Promise<{ count: string }>((resolve, reject) =>
      kv!.Range({ key: Buffer.from(prefix), range_end: end, count_only: true }, {}, (err, r) =>
        err ? reject(err) : resolve(r!),
      ),
    );
    return Number(res.count);
  } finally {
    kv!.close();
  }
}

test('put: exactly maxOps successful writes, each recorded, cycling through the key space', async () => {
  const r = await runLoad({
    endpoint: etcd.endpoint,
    op: 'put',
    clients: 8,
    durationMs: 60_000,
    maxOps: 300,
    keyPrefix: '/t1/',
  });
  assert.equal(r.ops, 300);
  assert.deepEqual(r.errors, {});
  assert.equal(r.latency.count, 300);
  assert.equal(r.connections, 8);
  assert.ok(r.latency.min > 0 && r.latency.min <= r.latency.p50 && r.latency.p50 <= r.latency.max);
  assert.ok(r.opsPerSec > 0);
  assert.equal(r.probeDelta, null);
  assert.equal(await countKeys('/t1/put/'), 300);

  const small = await runLoad({
    endpoint: etcd.endpoint,
    op: 'put',
    clients: 4,
    connections: 2,
    durationMs: 60_000,
    maxOps: 200,
    keySpace: 50,
    keyPrefix: '/t2/',
    probe: () => ({ constant: 7 }),
  });
  assert.equal(small.ops, 200);
  assert.equal(small.connections, 2);
  assert.deepEqual(small.probeDelta, { constant: 0 });
  assert.equal(await countKeys('/t2/put/'), 50);
});

test('get and range read the preloaded keys and check what comes back', async () => {
  await preloadKeys(etcd.endpoint, { count: 120, valueSize: 64, keyPrefix: '/t3/' });
  assert.equal(await countKeys('/t3/read/'), 120);
  const common = {
    endpoint: etcd.endpoint,
    durationMs: 60_000,
    keyPrefix: '/t3/',
    readKeys: 120,
    valueSize: 64,
  };
  const get = await runLoad({ ...common, op: 'get', clients: 4, maxOps: 200 });
  assert.equal(get.ops, 200);
  assert.deepEqual(get.errors, {});
  const range = await runLoad({
    ...common,
    op: 'range',
    clients: 4,
    maxOps: 100,
    rangeLimit: 10,
    serializable: true,
  });
  assert.equal(range.ops, 100);
  assert.deepEqual(range.errors, {});
});

test('reads that do not find what was preloaded count as bad responses, not successes', async () => {
  // Nothing was written under /t4/: every get answers with no kvs.
  const r = await runLoad({
    endpoint: etcd.endpoint,
    op: 'get',
    clients: 2,
    durationMs: 60_000,
    maxOps: 20,
    keyPrefix: '/t4/',
  });
  assert.equal(r.ops, 0);
  assert.deepEqual(r.errors, { 'bad-response': 20 });
  assert.equal(r.latency.count, 0);
});

test('bad specs and unreachable endpoints fail with clear errors', async () => {
  await assert.rejects(
    runLoad({ endpoint: etcd.endpoint, op: 'put', clients: 0, durationMs: 10 }),
    /clients must be/,
  );
  await assert.rejects(
    runLoad({ endpoint: etcd.endpoint, op: 'put', clients: 1, durationMs: 0 }),
    /durationMs must be/,
  );
  const closed = `127.0.0.1:${await freePort()}`;
  await assert.rejects(openKvClients(closed, 1, 500), new RegExp(`cannot connect to ${closed}`));
});
