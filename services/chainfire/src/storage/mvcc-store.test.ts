import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MvccStore } from './mvcc-store.js';
import type { CommittedEntry } from './mvcc-store.js';
import { encodeCommand } from '../core/commands.js';
import type { Command } from '../core/commands.js';
import { normalizeDelete, normalizePut, normalizeRange } from '../core/requests.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const t = (u: Uint8Array): string => new TextDecoder().decode(u);

function tmp(ctx: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pc-mvcc-'));
  ctx.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Feeds commands as consecutive log entries. */
class Feeder {
  index = 0;
  constructor(readonly store: MvccStore) {
    this.index = store.appliedIndex.index;
  }
  apply(...cmds: Command[]): ReturnType<MvccStore['applyBatch']> {
    const entries: CommittedEntry[] = cmds.map((c) => ({
      index: ++this.index,
      term: 1,
      data: encodeCommand(c),
    }));
    return this.store.applyBatch(entries);
  }
  put(k: string, v: string): void {
    this.apply({ op: 'put', req: normalizePut({ key: b(k), value: b(v) }) });
  }
}

const all = normalizeRange({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
const snapshot = (st: MvccStore, revision: number): string[] =>
  st
    .range({ ...all, revision })
    .kvs.map((kv) => `${t(kv.key)}=${t(kv.value)}@${kv.modRevision}/v${kv.version}`);

test('entries at or below the applied index are skipped (exactly-once replay)', async (ctx) => {
  const dir = tmp(ctx);
  const st = MvccStore.open(dir);
  const f = new Feeder(st);
  f.put('a', '1');
  const again = st.applyBatch([
    {
      index: 1,
      term: 1,
      data: encodeCommand({ op: 'put', req: normalizePut({ key: b('a'), value: b('x') }) }),
    },
  ]);
  assert.deepEqual(again.revisions, []);
  assert.equal(st.currentRevision, 2);
  assert.deepEqual(st.appliedIndex, { index: 1, term: 1 });
  await st.close();
  const st2 = MvccStore.open(dir);
  assert.deepEqual(st2.appliedIndex, { index: 1, term: 1 });
  assert.equal(st2.currentRevision, 2);
  await st2.close();
});

test('physical compaction in small resumable steps keeps exactly what reads at >= the compact revision need', async (ctx) => {
  const dir = tmp(ctx);
  let st = MvccStore.open(dir);
  let f = new Feeder(st);
  for (let i = 0; i < 30; i++) f.put(`k${i % 4}`, `v${i}`); // revisions 2..31
  f.apply({ op: 'deleteRange', req: normalizeDelete({ key: b('k1') }) }); // 32
  f.put('k9', 'x'); // 33
  f.apply({ op: 'deleteRange', req: normalizeDelete({ key: b('k9') }) }); // 34
  const before = [34, 33, 32, 31].map((r) => snapshot(st, r));
  f.apply({ op: 'compact', revision: 32 });
  assert.equal(st.compactRevision, 32);
  assert.ok(st.compactionPending());
  // One step, then "crash" (close) and resume from the persisted cursor.
  assert.equal(st.compactStep(5), true);
  await st.close();
  st = MvccStore.open(dir);
  f = new Feeder(st);
  let steps = 0;
  while (st.compactStep(5) && steps < 100) steps++;
  assert.equal(st.compactionPending(), false);
  // Reads at and after the compact revision are unchanged; older ones fail.
  assert.deepEqual(
    [34, 33, 32].map((r) => snapshot(st, r)),
    before.slice(0, 3),
  );
  assert.throws(() => snapshot(st, 31), /compacted/);
  // History kept: the newest version <= 32 of each live key, the delete at exactly 32, and all after.
  const hist = st
    .history(1, 34, 1000, false)
    .flatMap((g) => g.events.map((e) => `${e.type}:${t(e.kv.key)}@${e.kv.modRevision}`));
  assert.deepEqual(hist, [
    'PUT:k2@28',
    'PUT:k3@29',
    'PUT:k0@30',
    'DELETE:k1@32',
    'PUT:k9@33',
    'DELETE:k9@34',
  ]);
  // Writing on after compaction keeps versions counting from the kept version.
  f.put('k0', 'new');
  assert.deepEqual(
    snapshot(st, 35).filter((x) => x.startsWith('k0')),
    ['k0=new@35/v9'],
  );
  // A later compaction removes the tombstone kept at the previous compact revision.
  f.apply({ op: 'compact', revision: 35 });
  while (st.compactStep(3) && steps < 200) steps++;
  const hist2 = st
    .history(1, 35, 1000, false)
    .flatMap((g) => g.events.map((e) => `${e.type}:${t(e.kv.key)}@${e.kv.modRevision}`));
  assert.deepEqual(hist2, ['PUT:k2@28', 'PUT:k3@29', 'PUT:k0@35']);
  await st.close();
});

test('history never splits a revision across batches and finds prevKv', async (ctx) => {
  const dir = tmp(ctx);
  const st = MvccStore.open(dir);
  const f = new Feeder(st);
  f.put('a', '1');
  f.apply({
    op: 'txn',
    req: {
      compare: [],
      success: ['x', 'y', 'z'].map((k) => ({ put: normalizePut({ key: b(k), value: b(k) }) })),
      failure: [],
    },
  });
  f.put('a', '2');
  const first = st.history(2, 4, 2, true);
  assert.deepEqual(
    first.map((g) => [g.revision, g.events.length]),
    [
      [2, 1],
      [3, 3],
    ],
  );
  const next = st.history(4, 4, 2, true);
  assert.equal(t(next[0]!.events[0]!.prevKv!.value), '1');
  await st.close();
});

test('a snapshot file carries the state to another store; a torn or foreign file changes nothing', async (ctx) => {
  const dir = tmp(ctx);
  const src = MvccStore.open(path.join(dir, 'src'));
  const dst = MvccStore.open(path.join(dir, 'dst'));
  try {
    const f = new Feeder(src);
    // Enough rows to span several 1 MiB write buffers.
    const big = 'x'.repeat(3000);
    for (let i = 0; i < 1200; i++) f.put(`k${String(i).padStart(5, '0')}`, `${i}:${big}`);
    f.apply({ op: 'deleteRange', req: normalizeDelete({ key: b('k00000') }) });
    new Feeder(dst).put('only-in-dst', 'v');
    const file = path.join(dir, 'snap');
    const exported = src.exportSnapshotFile(file);
    // Applied while the file is written: not part of the snapshot, which is of the moment of the call.
    f.put('k00001', 'changed later');
    f.put('later', 'x');
    const bytes = await exported;
    assert.equal(fs.statSync(file).size, bytes);
    assert.ok(bytes > 3 * 1024 * 1024);

    // A truncated copy and a file of something else are refused, and the store is as it was.
    const torn = path.join(dir, 'torn');
    fs.writeFileSync(torn, fs.readFileSync(file).subarray(0, Math.floor(bytes / 2)));
    await assert.rejects(dst.importSnapshotFile(torn, { index: 99, term: 3 }), /torn|truncated/);
    const junk = path.join(dir, 'junk');
    fs.writeFileSync(junk, Buffer.from([0, 0, 0, 1, 0]));
    await assert.rejects(dst.importSnapshotFile(junk, { index: 99, term: 3 }));
    assert.deepEqual(
      dst.range(all).kvs.map((kv) => t(kv.key)),
      ['only-in-dst'],
    );

    await dst.importSnapshotFile(file, { index: 99, term: 3 });
    assert.deepEqual(dst.appliedIndex, { index: 99, term: 3 });
    assert.equal(dst.currentRevision, src.currentRevision - 2);
    const a = src.range({ ...all, revision: src.currentRevision - 2 });
    const d = dst.range(all);
    assert.equal(d.kvs.length, 1199);
    assert.deepEqual(
      d.kvs.map((kv) => [t(kv.key), t(kv.value), kv.modRevision]),
      a.kvs.map((kv) => [t(kv.key), t(kv.value), kv.modRevision]),
    );
    // History came along too: an old revision reads the same on both.
    const old = normalizeRange({ key: b('k00000'), revision: 2 });
    assert.equal(t(dst.range(old).kvs[0]!.value), t(src.range(old).kvs[0]!.value));
  } finally {
    await src.close();
    await dst.close();
  }
});
