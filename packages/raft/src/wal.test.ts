import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wal, WalCorruptError } from './wal.js';
import type { Entry } from './core/types.js';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pc-wal-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const ent = (index: number, term: number, s = `e${index}`): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(s),
});
const text = (e: Entry): string => new TextDecoder().decode(e.data);

test('entries and hard state survive reopen', async (t) => {
  const dir = tmp(t);
  const { wal, state, report } = await Wal.open(dir);
  assert.deepEqual(state.entries, []);
  assert.deepEqual(state.snapshot, { index: 0, term: 0 });
  assert.equal(report.truncatedBytes, 0);
  await wal.save({ term: 1, vote: '77', commit: 0 }, [ent(1, 1), ent(2, 1)], true);
  await wal.save({ term: 1, vote: '77', commit: 2 }, [ent(3, 1)], true);
  await wal.save(undefined, [{ ...ent(4, 1), type: 'confChange' }], true);
  await wal.close();
  const again = await Wal.open(dir);
  assert.deepEqual(again.state.hardState, { term: 1, vote: '77', commit: 2 });
  assert.deepEqual(
    again.state.entries.map((e) => [e.index, e.term, e.type, text(e)]),
    [
      [1, 1, 'normal', 'e1'],
      [2, 1, 'normal', 'e2'],
      [3, 1, 'normal', 'e3'],
      [4, 1, 'confChange', 'e4'],
    ],
  );
  await again.wal.close();
});

test('a later entry at an existing index replaces the tail', async (t) => {
  const dir = tmp(t);
  const { wal } = await Wal.open(dir);
  await wal.save({ term: 1, vote: '', commit: 0 }, [ent(1, 1), ent(2, 1), ent(3, 1)], true);
  await wal.save({ term: 2, vote: '', commit: 0 }, [ent(2, 2, 'new')], true);
  await wal.close();
  const { wal: w2, state } = await Wal.open(dir);
  assert.deepEqual(
    state.entries.map((e) => [e.index, e.term, text(e)]),
    [
      [1, 1, 'e1'],
      [2, 2, 'new'],
    ],
  );
  await w2.close();
});

test('a torn tail is truncated and everything before it recovered', async (t) => {
  const dir = tmp(t);
  const { wal } = await Wal.open(dir);
  for (let i = 1; i <= 10; i++) await wal.save({ term: 1, vote: '1', commit: i - 1 }, [ent(i, 1)], true);
  await wal.close();
  const [file] = fs.readdirSync(dir);
  const full = path.join(dir, file!);
  const size = fs.statSync(full).size;
  // Chop the last record (the hard state of batch 10) in half: a write cut off by a crash.
  fs.truncateSync(full, size - 5);
  const a = await Wal.open(dir);
  assert.equal(a.state.entries.length, 10);
  assert.deepEqual(a.state.hardState, { term: 1, vote: '1', commit: 8 });
  assert.ok(a.report.truncatedBytes > 0);
  // Appending after the repair works and lands right after the good prefix.
  await a.wal.save(undefined, [ent(11, 1)], true);
  await a.wal.close();
  // Garbage (zeros, as after a crash with preallocated blocks) after a valid tail is dropped too.
  fs.appendFileSync(full, Buffer.alloc(100));
  const b = await Wal.open(dir);
  assert.equal(b.state.entries.length, 11);
  assert.equal(b.report.truncatedBytes, 100);
  await b.wal.close();
  // A flipped bit inside the last entry fails its CRC: that record and what follows are cut.
  const buf = fs.readFileSync(full);
  buf[buf.length - 3]! ^= 0x40;
  fs.writeFileSync(full, buf);
  const c = await Wal.open(dir);
  assert.deepEqual(
    c.state.entries.map((e) => e.index),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.equal(fs.statSync(full).size < buf.length, true);
  await c.wal.close();
});

test('segments roll over, compact drops whole old segments, and the log start survives', async (t) => {
  const dir = tmp(t);
  const { wal } = await Wal.open(dir, { segmentBytes: 300 });
  const big = 'x'.repeat(100);
  for (let i = 1; i <= 20; i++) await wal.save({ term: 1, vote: '1', commit: i - 1 }, [ent(i, 1, big)], true);
  const files = wal.segmentFiles();
  assert.ok(files.length > 5, `rolled over into ${files.length} segments`);
  const removed = wal.compact(12);
  assert.ok(removed > 0);
  const left = wal.segmentFiles();
  assert.deepEqual(fs.readdirSync(dir).sort(), [...left].sort());
  await wal.close();
  const { wal: w2, state } = await Wal.open(dir, { segmentBytes: 300 });
  const first = state.entries[0]!;
  assert.ok(first.index <= 13, 'entries after the compaction point are kept');
  assert.equal(state.snapshot.index, first.index - 1);
  assert.equal(state.snapshot.term, 1);
  assert.equal(state.entries[state.entries.length - 1]!.index, 20);
  assert.deepEqual(state.hardState, { term: 1, vote: '1', commit: 19 });
  await w2.close();
});

test('corruption in an older segment fails the open instead of silently losing entries', async (t) => {
  const dir = tmp(t);
  const { wal } = await Wal.open(dir, { segmentBytes: 200 });
  for (let i = 1; i <= 10; i++) await wal.save(undefined, [ent(i, 1, 'y'.repeat(80))], true);
  await wal.close();
  const first = path.join(dir, fs.readdirSync(dir).sort()[0]!);
  const buf = fs.readFileSync(first);
  buf[buf.length - 10]! ^= 0xff;
  fs.writeFileSync(first, buf);
  await assert.rejects(Wal.open(dir, { segmentBytes: 200 }), WalCorruptError);
});

test('resetTo restarts the log after a snapshot point beyond the WAL end', async (t) => {
  const dir = tmp(t);
  const { wal } = await Wal.open(dir);
  await wal.save({ term: 1, vote: '1', commit: 2 }, [ent(1, 1), ent(2, 1)], true);
  await wal.resetTo({ index: 5, term: 2 }, { term: 2, vote: '1', commit: 5 });
  await wal.save(undefined, [ent(6, 2)], true);
  assert.equal(wal.segmentFiles().length, 1);
  await wal.close();
  const { wal: w2, state } = await Wal.open(dir);
  assert.deepEqual(state.snapshot, { index: 5, term: 2 });
  assert.deepEqual(
    state.entries.map((e) => e.index),
    [6],
  );
  assert.deepEqual(state.hardState, { term: 2, vote: '1', commit: 5 });
  await w2.close();
});
