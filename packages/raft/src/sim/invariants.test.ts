import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftCore, seededRandom } from '../core/raft-core.js';
import type { Entry, Ready } from '../core/types.js';
import { InvariantChecker } from './invariants.js';
import type { DurableView } from './invariants.js';

const entry = (index: number, term: number, s: string): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(s),
});

function soloLeader(id: string): RaftCore {
  const core = new RaftCore({
    id,
    voters: [id],
    electionTick: 10,
    heartbeatTick: 1,
    random: seededRandom(1),
    initial: { hardState: { term: 0, vote: '', commit: 0 }, snapshot: { index: 0, term: 0 }, entries: [] },
    applied: 0,
  });
  core.campaign();
  return core;
}

const noDisks = new Map<string, DurableView>();
const conf = { voters: ['a', 'b', 'c'], learners: [] };

test('the checker flags two leaders in one term', () => {
  const inv = new InvariantChecker();
  inv.afterStep([{ id: 'a', core: soloLeader('a') }], noDisks, conf, 1);
  assert.deepEqual(inv.violations, []);
  inv.afterStep([{ id: 'b', core: soloLeader('b') }], noDisks, conf, 2);
  assert.match(inv.violations[0] ?? '', /election safety: a and b both lead term 1/);
});

test('the checker flags different entries at one (index, term) and different applied entries', () => {
  const core = soloLeader('a');
  const inv = new InvariantChecker();
  const rd = (e: Entry): Ready => ({
    entries: [e],
    committedEntries: [],
    messages: [],
    readStates: [],
    mustSync: true,
  });
  inv.onReady('a', core, rd(entry(1, 1, 'x')), 1);
  inv.onReady('b', core, rd(entry(1, 1, 'x')), 2);
  assert.deepEqual(inv.violations, []);
  inv.onReady('c', core, rd(entry(1, 1, 'y')), 3);
  assert.match(inv.violations[0] ?? '', /log matching/);
  inv.onApply('a', entry(5, 2, 'p'), 4);
  inv.onApply('b', entry(5, 2, 'p'), 5);
  assert.equal(inv.violations.length, 1);
  inv.onApply('c', entry(5, 3, 'q'), 6);
  assert.match(inv.violations[1] ?? '', /state-machine safety/);
});

test('the checker flags a committed entry that is not durable on enough voters, and term regressions', () => {
  const core = soloLeader('a');
  // Drive the single voter until its no-op (index 1, term 1) is committed.
  for (let i = 0; i < 3 && core.hasReady(); i++) core.advance(core.ready());
  assert.equal(core.status().commit, 1);
  const disk = (entries: Entry[]): DurableView => ({
    hardState: { term: 1, vote: 'a', commit: 1 },
    snapshot: { meta: { index: 0, term: 0 }, data: new Uint8Array() },
    entries,
  });
  const noop: Entry = { index: 1, term: 1, type: 'normal', data: new Uint8Array() };
  const inv = new InvariantChecker();
  const two = new Map([
    ['a', disk([noop])],
    ['b', disk([noop])],
    ['c', disk([])],
  ]);
  inv.afterStep([{ id: 'a', core }], two, conf, 1);
  assert.deepEqual(inv.violations, []);
  const one = new Map([
    ['a', disk([noop])],
    ['b', disk([])],
    ['c', disk([])],
  ]);
  inv.afterStep([{ id: 'a', core }], one, conf, 2);
  assert.match(inv.violations[0] ?? '', /committed entry lost: 1\/1 is durable on 1 of voters/);
  inv.onDurable('a', { term: 5, vote: '', commit: 0 }, 3);
  inv.onDurable('a', { term: 4, vote: '', commit: 0 }, 4);
  assert.match(inv.violations[1] ?? '', /term monotonicity/);
});
