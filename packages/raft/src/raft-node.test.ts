import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RaftNode, RaftStoppedError } from './raft-node.js';
import type { Entry } from './core/types.js';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pc-raft-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A tiny state machine: an append-only list, with the applied index kept beside it. */
class ListMachine {
  items: string[] = [];
  applied = { index: 0, term: 0 };
  batches: number[] = [];
  apply = (entries: Entry[]): string[] => {
    this.batches.push(entries.length);
    return entries.map((e) => {
      this.applied = { index: e.index, term: e.term };
      if (e.type === 'confChange') return `conf ${dec(e.data)}`;
      if (e.data.length === 0) return '';
      this.items.push(dec(e.data));
      return `applied ${dec(e.data)} at ${e.index}`;
    });
  };
}

test('a single node elects itself on open and applies proposals in order', async (t) => {
  const dir = tmp(t);
  const sm = new ListMachine();
  const node = await RaftNode.open({ walDir: dir, id: '9', applied: sm.applied, apply: sm.apply, seed: 1 });
  t.after(() => node.close());
  const st = node.status();
  assert.equal(st.role, 'leader');
  // etcd-style bootstrap: membership committed at term 1, the first election makes term 2.
  assert.equal(st.term, 2);
  assert.equal(st.lead, '9');
  assert.equal(
    st.applied,
    2,
    'the bootstrap conf change and the no-op of term 2 are applied before open resolves',
  );
  assert.deepEqual(sm.batches.slice(0, 1), [1]);
  const r = await node.propose(enc('a'));
  assert.equal(r, 'applied a at 3');
  const syncsBefore = node.status().walSyncs;
  const all = await Promise.all(Array.from({ length: 200 }, (_, i) => node.propose(enc(`k${i}`))));
  const syncs = node.status().walSyncs - syncsBefore;
  assert.ok(syncs >= 1 && syncs < 50, `200 concurrent proposals cost ${syncs} fsyncs`);
  assert.equal(all.length, 200);
  assert.deepEqual(sm.items, ['a', ...Array.from({ length: 200 }, (_, i) => `k${i}`)]);
  // Group commit: 200 concurrent proposals were persisted and applied in far fewer batches.
  assert.ok(sm.batches.length < 50, `applied in ${sm.batches.length} batches`);
});

test('restart replays persisted entries the state machine never applied, exactly once', async (t) => {
  const dir = tmp(t);
  const sm = new ListMachine();
  const node = await RaftNode.open({ walDir: dir, id: '1', applied: sm.applied, apply: sm.apply });
  for (let i = 0; i < 5; i++) await node.propose(enc(`v${i}`));
  await node.close();
  // The state machine "lost" everything after v1 (e.g. it was not synced before a crash).
  const keep = sm.items.slice(0, 2);
  const appliedIndex = 4; // conf change at 1, no-op at 2, v0 at 3, v1 at 4
  const sm2 = new ListMachine();
  sm2.items = [...keep];
  sm2.applied = { index: appliedIndex, term: 2 };
  const node2 = await RaftNode.open({ walDir: dir, id: '1', applied: sm2.applied, apply: sm2.apply });
  t.after(() => node2.close());
  assert.deepEqual(sm2.items, ['v0', 'v1', 'v2', 'v3', 'v4']);
  assert.equal(node2.status().term, 3);
  await node2.propose(enc('after'));
  assert.deepEqual(sm2.items.slice(-1), ['after']);
});

test('a state machine ahead of a truncated WAL continues after its own applied index', async (t) => {
  const dir = tmp(t);
  const sm = new ListMachine();
  const node = await RaftNode.open({ walDir: dir, id: '1', applied: sm.applied, apply: sm.apply });
  for (let i = 0; i < 3; i++) await node.propose(enc(`v${i}`));
  await node.close();
  const applied = { ...sm.applied };
  // Lose the WAL entirely but keep the state machine: the log must restart after `applied`.
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
  const sm2 = new ListMachine();
  sm2.applied = applied;
  const node2 = await RaftNode.open({ walDir: dir, id: '1', applied, apply: sm2.apply });
  await node2.propose(enc('next'));
  assert.deepEqual(sm2.items, ['next']);
  assert.ok(sm2.applied.index > applied.index);
  await node2.close();
  const sm3 = new ListMachine();
  sm3.applied = { ...sm2.applied };
  const node3 = await RaftNode.open({ walDir: dir, id: '1', applied: sm3.applied, apply: sm3.apply });
  assert.deepEqual(sm3.items, [], 'nothing to replay');
  await node3.close();
});

test('compactLog drops old WAL segments once the state machine is durable', async (t) => {
  const dir = tmp(t);
  const sm = new ListMachine();
  const node = await RaftNode.open({
    walDir: dir,
    id: '1',
    applied: sm.applied,
    apply: sm.apply,
    segmentBytes: 512,
  });
  for (let i = 0; i < 40; i++) await node.propose(enc(`value-${'z'.repeat(40)}-${i}`));
  const before = node.walSegments().length;
  assert.ok(before > 3);
  node.compactLog(sm.applied.index);
  assert.ok(node.walSegments().length < before);
  assert.equal(node.status().snapshotIndex > 0, true);
  await node.close();
  const sm2 = new ListMachine();
  sm2.applied = { ...sm.applied };
  const node2 = await RaftNode.open({
    walDir: dir,
    id: '1',
    applied: sm2.applied,
    apply: sm2.apply,
    segmentBytes: 512,
  });
  assert.deepEqual(sm2.items, []);
  await node2.propose(enc('more'));
  assert.deepEqual(sm2.items, ['more']);
  await node2.close();
});

test('close lets accepted proposals finish and rejects later ones', async (t) => {
  const dir = tmp(t);
  const sm = new ListMachine();
  const node = await RaftNode.open({ walDir: dir, id: '1', applied: sm.applied, apply: sm.apply });
  const inflight = [node.propose(enc('x')), node.propose(enc('y'))];
  const closing = node.close();
  await assert.rejects(node.propose(enc('late')), RaftStoppedError);
  assert.deepEqual(await Promise.all(inflight), ['applied x at 3', 'applied y at 4']);
  await closing;
});

test('an apply that throws stops the node and rejects pending proposals', async (t) => {
  const dir = tmp(t);
  let fatal: Error | undefined;
  const node = await RaftNode.open({
    walDir: dir,
    id: '1',
    applied: { index: 0, term: 0 },
    apply: (entries: Entry[]) =>
      entries.map((e) => {
        if (dec(e.data) === 'poison') throw new Error('bad entry');
        return 'ok';
      }),
    onFatal: (e) => (fatal = e),
  });
  t.after(() => node.close());
  await assert.rejects(node.propose(enc('poison')), RaftStoppedError);
  assert.equal(fatal?.message, 'bad entry');
  await assert.rejects(node.propose(enc('fine')), RaftStoppedError);
});
