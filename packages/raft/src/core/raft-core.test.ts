import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotLeaderError, RaftCore, seededRandom } from './raft-core.js';
import type { Entry, InitialState, Message, Ready } from './types.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

const empty = (): InitialState => ({
  hardState: { term: 0, vote: '', commit: 0 },
  snapshot: { index: 0, term: 0 },
  entries: [],
});

function single(seed = 1, initial: InitialState = empty(), applied = 0): RaftCore {
  return new RaftCore({
    id: '1',
    voters: ['1'],
    electionTick: 10,
    heartbeatTick: 1,
    random: seededRandom(seed),
    initial,
    applied,
  });
}

/** Drain Readys like a driver with perfect storage: returns persisted and applied entries. */
function drain(
  r: RaftCore,
  storage: Entry[] = [],
  applied: Entry[] = [],
): { storage: Entry[]; applied: Entry[]; readys: Ready[] } {
  const readys: Ready[] = [];
  for (let i = 0; i < 100 && r.hasReady(); i++) {
    const rd = r.ready();
    readys.push(rd);
    for (const e of rd.entries) {
      storage.length = Math.min(storage.length, e.index - 1);
      storage.push(e);
    }
    applied.push(...rd.committedEntries);
    r.advance(rd);
  }
  assert.equal(r.hasReady(), false, 'drain did not converge');
  return { storage, applied, readys };
}

test('a single voter elects itself deterministically within [electionTick, 2*electionTick) ticks', () => {
  const ticksFor = (seed: number): number => {
    const r = single(seed);
    for (let t = 1; t <= 40; t++) {
      r.tick();
      if (r.status().role === 'leader') return t;
    }
    return -1;
  };
  const seen = new Set<number>();
  for (let seed = 1; seed <= 50; seed++) {
    const t = ticksFor(seed);
    assert.ok(t >= 10 && t < 20, `seed ${seed}: elected after ${t} ticks`);
    assert.equal(ticksFor(seed), t, 'same seed, same timeout');
    seen.add(t);
  }
  assert.ok(seen.size > 1, 'timeouts are randomised across seeds');
  const r = single();
  r.campaign();
  const st = r.status();
  assert.equal(st.role, 'leader');
  assert.equal(st.term, 1);
  assert.equal(st.vote, '1');
  assert.equal(st.lead, '1');
});

test('single voter: an entry commits only once persisted, then is handed out for apply once', () => {
  const r = single();
  r.campaign();
  // First Ready: the leader's no-op, unpersisted, not yet committed.
  const rd1 = r.ready();
  assert.equal(rd1.entries.length, 1);
  assert.equal(rd1.entries[0]!.data.length, 0);
  assert.deepEqual(rd1.committedEntries, []);
  assert.equal(rd1.mustSync, true);
  assert.deepEqual(rd1.hardState, { term: 1, vote: '1', commit: 0 });
  assert.deepEqual(rd1.softState, { role: 'leader', lead: '1' });
  assert.deepEqual(rd1.messages, []);
  // A proposal while the first batch is being persisted joins the next batch (group commit).
  const p = r.propose(bytes('a'));
  assert.deepEqual(p, { index: 2, term: 1 });
  r.advance(rd1);
  const rd2 = r.ready();
  assert.deepEqual(
    rd2.entries.map((e) => e.index),
    [2],
  );
  assert.deepEqual(
    rd2.committedEntries.map((e) => e.index),
    [1],
  );
  assert.equal(rd2.hardState?.commit, 1);
  r.advance(rd2);
  const rd3 = r.ready();
  assert.deepEqual(rd3.entries, []);
  assert.deepEqual(
    rd3.committedEntries.map((e) => text(e.data)),
    ['a'],
  );
  assert.equal(rd3.mustSync, false, 'a commit-only change needs no fsync');
  r.advance(rd3);
  assert.equal(r.hasReady(), false);
  assert.equal(r.status().applied, 2);
});

test('many proposals between Readys are persisted and committed as one batch', () => {
  const r = single();
  r.campaign();
  drain(r);
  for (let i = 0; i < 100; i++) r.propose(bytes(`v${i}`));
  const rd = r.ready();
  assert.equal(rd.entries.length, 100);
  r.advance(rd);
  const rd2 = r.ready();
  assert.equal(rd2.committedEntries.length, 100);
  assert.equal(text(rd2.committedEntries[99]!.data), 'v99');
});

test('propose on a follower throws NotLeaderError', () => {
  const r = single();
  assert.throws(() => r.propose(bytes('x')), NotLeaderError);
});

test('restart: unapplied persisted entries are re-committed by the new term and applied once', () => {
  const r = single();
  r.campaign();
  const { storage } = drain(r);
  r.propose(bytes('a'));
  r.propose(bytes('b'));
  // Persist a and b but "crash" before applying them.
  const rd = r.ready();
  storage.push(...rd.entries);
  const hs = { term: 1, vote: '1', commit: 1 };
  const r2 = single(7, { hardState: hs, snapshot: { index: 0, term: 0 }, entries: storage }, 1);
  assert.equal(r2.status().role, 'follower');
  assert.equal(r2.status().term, 1);
  for (let i = 0; i < 20 && r2.status().role !== 'leader'; i++) r2.tick();
  assert.equal(r2.status().term, 2);
  const out = drain(r2, storage);
  assert.deepEqual(
    out.applied.map((e) => [e.index, e.term, text(e.data)]),
    [
      [2, 1, 'a'],
      [3, 1, 'b'],
      [4, 2, ''],
    ],
  );
});

test('compaction drops applied entries and keeps the term of the compaction point', () => {
  const r = single();
  r.campaign();
  drain(r);
  for (let i = 0; i < 5; i++) r.propose(bytes(String(i)));
  drain(r);
  r.compact(4);
  assert.equal(r.log.firstIndex(), 5);
  assert.equal(r.log.term(4), 1);
  assert.equal(r.log.term(3), undefined);
  assert.throws(() => r.compact(10));
  const r2 = single(
    3,
    { hardState: { term: 1, vote: '1', commit: 6 }, snapshot: r.log.snapshot(), entries: r.log.slice(5, 6) },
    6,
  );
  assert.equal(r2.log.lastIndex(), 6);
  assert.equal(r2.status().applied, 6);
});

test('log rejects inconsistent initial state', () => {
  const bad: InitialState = {
    hardState: { term: 1, vote: '', commit: 0 },
    snapshot: { index: 0, term: 0 },
    entries: [{ index: 2, term: 1, type: 'normal', data: new Uint8Array() }],
  };
  assert.throws(() => single(1, bad), /not contiguous/);
  const behind: InitialState = {
    hardState: { term: 1, vote: '', commit: 0 },
    snapshot: { index: 0, term: 0 },
    entries: [{ index: 1, term: 3, type: 'normal', data: new Uint8Array() }],
  };
  assert.throws(() => single(1, behind), /behind/);
});

/** Three in-memory cores exchanging messages through a deterministic bus (the multi-voter shape). */
class Cluster {
  readonly nodes = new Map<string, RaftCore>();
  readonly applied = new Map<string, string[]>();
  readonly down = new Set<string>();
  private queue: Message[] = [];

  constructor(ids: string[], seed: number) {
    for (const id of ids) {
      this.nodes.set(
        id,
        new RaftCore({
          id,
          voters: ids,
          electionTick: 10,
          heartbeatTick: 1,
          random: seededRandom(seed + Number(id)),
          initial: empty(),
          applied: 0,
        }),
      );
      this.applied.set(id, []);
    }
  }

  /** Drain every node's Ready and deliver messages until quiet. */
  settle(): void {
    for (let round = 0; round < 1000; round++) {
      let busy = false;
      for (const [id, n] of this.nodes) {
        if (this.down.has(id) || !n.hasReady()) continue;
        busy = true;
        const rd = n.ready();
        for (const e of rd.committedEntries) if (e.data.length > 0) this.applied.get(id)!.push(text(e.data));
        this.queue.push(...rd.messages);
        n.advance(rd);
      }
      const msgs = this.queue;
      this.queue = [];
      for (const m of msgs) {
        if (this.down.has(m.to) || this.down.has(m.from)) continue;
        busy = true;
        this.nodes.get(m.to)!.step(m);
      }
      if (!busy) return;
    }
    throw new Error('cluster did not settle');
  }

  tickAll(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const [id, node] of this.nodes) if (!this.down.has(id)) node.tick();
      this.settle();
    }
  }

  leader(): RaftCore | undefined {
    const leaders = [...this.nodes].filter(([id, n]) => !this.down.has(id) && n.status().role === 'leader');
    return leaders[0]?.[1];
  }
}

test('three voters elect one leader, replicate and commit by majority', () => {
  const c = new Cluster(['1', '2', '3'], 42);
  c.tickAll(25);
  const leader = c.leader();
  assert.ok(leader, 'a leader was elected');
  const terms = new Set([...c.nodes.values()].map((n) => n.status().term));
  assert.equal(terms.size, 1, 'all nodes agree on the term');
  leader.propose(bytes('x'));
  leader.propose(bytes('y'));
  c.settle();
  c.tickAll(2); // heartbeats carry the new commit index to followers
  for (const [id, got] of c.applied) assert.deepEqual(got, ['x', 'y'], `node ${id}`);
});

test('three voters: a new leader takes over when the leader is cut off, keeping committed entries', () => {
  const c = new Cluster(['1', '2', '3'], 7);
  c.tickAll(25);
  const old = c.leader()!;
  old.propose(bytes('a'));
  c.settle();
  c.tickAll(2);
  c.down.add(old.id);
  c.tickAll(40);
  const fresh = c.leader();
  assert.ok(fresh && fresh.id !== old.id, 'another node leads');
  assert.ok(fresh.status().term > old.status().term);
  fresh.propose(bytes('b'));
  c.settle();
  c.tickAll(2);
  for (const [id, got] of c.applied) {
    if (id === old.id) continue;
    assert.deepEqual(got, ['a', 'b'], `node ${id}`);
  }
  // The old leader rejoins, steps down on the higher term and catches up.
  c.down.delete(old.id);
  c.tickAll(5);
  assert.equal(old.status().role, 'follower');
  assert.deepEqual(c.applied.get(old.id), ['a', 'b']);
});

test('a minority cannot commit', () => {
  const c = new Cluster(['1', '2', '3'], 11);
  c.tickAll(25);
  const leader = c.leader()!;
  for (const id of c.nodes.keys()) if (id !== leader.id) c.down.add(id);
  leader.propose(bytes('lost'));
  c.tickAll(3);
  assert.deepEqual(c.applied.get(leader.id), []);
});
