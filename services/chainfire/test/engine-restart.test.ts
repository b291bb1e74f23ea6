/** ChainFire engine: durability across restarts, WAL repair and exactly-once replay. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openChainFire } from '../src/engine.js';
import type { ChainFire } from '../src/engine.js';
import { b, openTestEngine, s } from './engine-helpers.js';

const ALL = { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) };

/** Everything observable about the store's data, for before/after comparisons. */
async function dump(cf: ChainFire): Promise<unknown> {
  const r = await cf.range(ALL);
  const leases = (await cf.leaseLeases()).leases.sort();
  const leaseKeys: Record<string, string[]> = {};
  for (const id of leases) leaseKeys[id] = (await cf.leaseTimeToLive(id, true)).keys.map(s);
  const st = await cf.clusterStatus();
  return {
    revision: r.header.revision,
    compactRevision: st.compactRevision,
    kvs: r.kvs.map((kv) => [s(kv.key), s(kv.value), kv.createRevision, kv.modRevision, kv.version, kv.lease]),
    leaseKeys,
    ids: [st.clusterId, st.memberId],
  };
}

function walFiles(dir: string): string[] {
  const wal = path.join(dir, 'member', 'wal');
  return fs
    .readdirSync(wal)
    .filter((f) => f.endsWith('.wal'))
    .sort()
    .map((f) => path.join(wal, f));
}

async function writeSome(cf: ChainFire, tag: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await cf.put({ key: b(`${tag}/${i}`), value: b(`${tag}-${i}`) });
}

test('close and reopen keeps keys, revisions, history, compaction, leases and identity', async (t) => {
  const te = await openTestEngine(t, { minLeaseTtl: 1 });
  let cf = te.cf;
  await writeSome(cf, 'a', 20);
  await cf.txn({
    compare: [],
    success: [{ put: { key: b('t1'), value: b('x') } }, { deleteRange: { key: b('a/3') } }],
    failure: [],
  });
  const lease = await cf.leaseGrant(600);
  await cf.put({ key: b('leased'), value: b('l'), lease: lease.id });
  await cf.compact(10);
  const before = await dump(cf);
  const beforeStatus = await cf.status();
  cf = await te.reopen();
  assert.deepEqual(await dump(cf), before);
  // History above the compact revision is still readable.
  assert.equal(s((await cf.range({ key: b('a/3'), revision: 20 })).kvs[0]!.value), 'a-3');
  assert.equal((await cf.range({ key: b('a/3') })).kvs.length, 0);
  // The lease got its full TTL back and still owns its key; the new term shows in the status.
  const ttl = await cf.leaseTimeToLive(lease.id, true);
  assert.equal(ttl.grantedTtl, 600);
  assert.ok(ttl.ttl > 590);
  const st = await cf.status();
  assert.equal(st.raftTerm, beforeStatus.raftTerm + 1);
  assert.ok(st.raftIndex > beforeStatus.raftIndex);
  const next = await cf.put({ key: b('next'), value: b('n') });
  assert.equal(next.header.revision, (before as { revision: number }).revision + 1);
  await cf.leaseRevoke(lease.id);
  assert.equal((await cf.range({ key: b('leased') })).kvs.length, 0);
});

test('a torn WAL tail (partial record, garbage) is truncated and everything before it recovered', async (t) => {
  const te = await openTestEngine(t);
  await writeSome(te.cf, 'k', 30);
  const before = await dump(te.cf);
  await te.cf.close();
  const [last] = walFiles(te.dir).slice(-1);
  const size = fs.statSync(last!).size;
  // A crash mid-write: the head of a record (plausible length, no body) followed by zeroed blocks.
  const torn = Buffer.alloc(4096);
  torn.writeUInt32BE(200, 0);
  fs.appendFileSync(last!, torn);
  const cf = await te.reopen();
  // The torn tail was cut off; the reopened node appended its own records right after the good part.
  const now = fs.readFileSync(last!);
  assert.ok(now.length < size + torn.length, 'garbage removed');
  assert.notEqual(now.readUInt32BE(size), 200, 'new records start where the good prefix ended');
  assert.deepEqual(await dump(cf), before);
  await writeSome(cf, 'more', 3);
  const cf2 = await te.reopen();
  assert.equal((await cf2.range({ key: b('more/'), rangeEnd: b('more0') })).count, 3);
});

test('WAL entries the state machine lacks are replayed exactly once on open', async (t) => {
  const te = await openTestEngine(t);
  await writeSome(te.cf, 'a', 10);
  await te.cf.close();
  // Keep the state machine as of now…
  const db = path.join(te.dir, 'member', 'db');
  const saved = path.join(te.dir, 'db-saved');
  fs.cpSync(db, saved, { recursive: true });
  // …then write more, which lands in the WAL and the state machine.
  let cf = await te.reopen();
  const lease = await cf.leaseGrant(120);
  await writeSome(cf, 'b', 10);
  await cf.put({ key: b('a/1'), value: b('updated'), lease: lease.id });
  await cf.deleteRange({ key: b('a/2') });
  await cf.txn({
    compare: [],
    success: [{ put: { key: b('t'), value: b('1') } }, { put: { key: b('u'), value: b('2') } }],
    failure: [],
  });
  const expected = await dump(cf);
  await cf.close();
  // Roll the state machine back: on open, Raft must replay exactly the entries after its applied
  // index (a double apply would shift every revision).
  fs.rmSync(db, { recursive: true });
  fs.renameSync(saved, db);
  cf = await te.reopen();
  assert.deepEqual(await dump(cf), expected);
  assert.deepEqual((await cf.leaseTimeToLive(lease.id, true)).keys.map(s), ['a/1']);
});

test('a WAL that lost entries the state machine already has continues after the state machine', async (t) => {
  const te = await openTestEngine(t);
  await writeSome(te.cf, 'k', 20);
  const before = await dump(te.cf);
  await te.cf.close();
  // Cut into the last acknowledged records (damage, not just a torn append).
  const [last] = walFiles(te.dir).slice(-1);
  fs.truncateSync(last!, fs.statSync(last!).size - 150);
  let cf = await te.reopen();
  assert.deepEqual(await dump(cf), before);
  const p = await cf.put({ key: b('after'), value: b('x') });
  assert.equal(p.header.revision, (before as { revision: number }).revision + 1);
  cf = await te.reopen();
  assert.equal(s((await cf.range({ key: b('after') })).kvs[0]!.value), 'x');
  assert.equal((await cf.range({ ...ALL, countOnly: true })).count, 21);
});

test('checkpoints compact the WAL without losing data', async (t) => {
  const te = await openTestEngine(t, {
    walSegmentBytes: 16 * 1024,
    checkpointEntries: 50,
    checkpointIntervalMs: 60_000,
  });
  const value = new Uint8Array(512).fill(7);
  for (let i = 0; i < 400; i++) await te.cf.put({ key: b(`c/${i}`), value });
  // Let the last scheduled checkpoint finish, then look: old segments are gone.
  await new Promise((r) => setTimeout(r, 50));
  const files = walFiles(te.dir);
  const totalBytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
  assert.ok(
    totalBytes < 400 * 512,
    `WAL holds ${totalBytes} bytes in ${files.length} segments after checkpoints`,
  );
  const cf = await te.reopen();
  assert.equal((await cf.range({ key: b('c/'), rangeEnd: b('c0'), countOnly: true })).count, 400);
  assert.equal((await cf.range({ key: b('c/399') })).kvs[0]!.modRevision, 401);
});

test('a data directory can be opened by one engine at a time', async (t) => {
  const te = await openTestEngine(t);
  await assert.rejects(openChainFire({ dataDir: te.dir }), /in use by process/);
  // The failed attempt did not disturb the running engine.
  await te.cf.put({ key: b('still'), value: b('ok') });
  const cf = await te.reopen();
  assert.equal((await cf.range({ key: b('still') })).kvs.length, 1);
});

test('syncStateMachine mode (LMDB fsync per batch) keeps the same semantics', async (t) => {
  const te = await openTestEngine(t, { syncStateMachine: true });
  await Promise.all(
    Array.from({ length: 50 }, (_, i) => te.cf.put({ key: b(`s/${i}`), value: b(String(i)) })),
  );
  const before = await dump(te.cf);
  const cf = await te.reopen();
  assert.deepEqual(await dump(cf), before);
  assert.equal((await cf.range({ key: b('s/'), rangeEnd: b('s0'), countOnly: true })).count, 50);
});
