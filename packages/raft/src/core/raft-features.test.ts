/**
 * Deterministic tests of each Raft feature on in-memory cores exchanging messages through a bus
 * that can cut links. Every node follows the Ready contract (persist, send, apply, advance) with
 * perfect storage; the randomized fault testing lives in ../sim.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotLeaderError, ProposalDroppedError, RaftCore, seededRandom } from './raft-core.js';
import type { RaftCoreConfig } from './raft-core.js';
import { encodeConfChange } from './types.js';
import type { Entry, InitialState, Message, ReadState, Snapshot } from './types.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function bootstrap(ids: string[]): InitialState {
  return {
    hardState: { term: 1, vote: '', commit: ids.length },
    snapshot: { index: 0, term: 0 },
    entries: ids.map((id, i) => ({
      term: 1,
      index: i + 1,
      type: 'confChange' as const,
      data: encodeConfChange({ type: 'addNode', nodeId: id }),
    })),
  };
}

const fresh = (): InitialState => ({
  hardState: { term: 0, vote: '', commit: 0 },
  snapshot: { index: 0, term: 0 },
  entries: [],
});

interface TestNode {
  core: RaftCore;
  /** Application payloads applied, in order (no-ops and conf changes left out). */
  applied: string[];
  snapshots: Snapshot[];
  readStates: ReadState[];
}

type Opts = Partial<Omit<RaftCoreConfig, 'id' | 'voters' | 'initial' | 'applied' | 'random'>>;

class Bus {
  readonly nodes = new Map<string, TestNode>();
  readonly down = new Set<string>();
  private readonly cuts = new Set<string>();
  private queue: Message[] = [];
  /** Every message delivered, for assertions. */
  readonly delivered: Message[] = [];
  /** When set, messages are held here instead of delivered (to inspect pipelining). */
  hold: Message[] | undefined;

  constructor(
    ids: string[],
    readonly opts: Opts = {},
  ) {
    for (const id of ids) this.add(id, ids, bootstrap(ids));
  }

  add(id: string, voters: string[], initial: InitialState = fresh()): TestNode {
    const node: TestNode = {
      core: new RaftCore({
        id,
        voters,
        electionTick: 10,
        heartbeatTick: 1,
        random: seededRandom(1000 + Number(id) * 7919),
        initial,
        applied: 0,
        ...this.opts,
      }),
      applied: [],
      snapshots: [],
      readStates: [],
    };
    this.nodes.set(id, node);
    return node;
  }

  get(id: string): RaftCore {
    return this.nodes.get(id)!.core;
  }

  /** Cut (or restore) the links between `a` and everyone in `others`, both ways. */
  isolate(a: string, others: string[] = [...this.nodes.keys()]): void {
    for (const b of others) if (b !== a) this.cuts.add(`${a}>${b}`).add(`${b}>${a}`);
  }

  heal(): void {
    this.cuts.clear();
  }

  private drain(id: string): boolean {
    const n = this.nodes.get(id)!;
    if (!n.core.hasReady()) return false;
    const rd = n.core.ready();
    // persist (perfect storage), then send, then apply
    this.queue.push(...rd.messages);
    if (rd.snapshot) n.snapshots.push(rd.snapshot);
    for (const e of rd.committedEntries) {
      if (e.type === 'normal' && e.data.length > 0) n.applied.push(text(e.data));
    }
    n.readStates.push(...rd.readStates);
    n.core.advance(rd);
    return true;
  }

  deliver(m: Message): void {
    if (this.down.has(m.to) || this.down.has(m.from) || this.cuts.has(`${m.from}>${m.to}`)) return;
    this.delivered.push(m);
    this.nodes.get(m.to)?.core.step(m);
  }

  settle(): void {
    for (let round = 0; round < 10_000; round++) {
      let busy = false;
      for (const id of this.nodes.keys()) if (!this.down.has(id) && this.drain(id)) busy = true;
      const msgs = this.queue;
      this.queue = [];
      if (this.hold) {
        this.hold.push(...msgs);
        if (!busy) return;
        continue;
      }
      for (const m of msgs) {
        busy = true;
        this.deliver(m);
      }
      if (!busy) return;
    }
    throw new Error('bus did not settle');
  }

  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const [id, node] of this.nodes) if (!this.down.has(id)) node.core.tick();
      this.settle();
    }
  }

  leaders(): string[] {
    return [...this.nodes]
      .filter(([id, n]) => !this.down.has(id) && n.core.status().role === 'leader')
      .map(([id]) => id);
  }

  /** Elect `id` deterministically: it campaigns first. */
  elect(id: string): RaftCore {
    this.settle(); // apply the bootstrap membership
    this.get(id).campaign();
    this.settle();
    assert.deepEqual(this.leaders(), [id]);
    this.tick(2);
    return this.get(id);
  }

  propose(id: string, ...values: string[]): void {
    for (const v of values) this.get(id).propose(bytes(v));
    this.settle();
  }
}

test('PreVote: a partitioned follower does not inflate its term or depose the leader when it returns', () => {
  const b = new Bus(['1', '2', '3']);
  const leader = b.elect('1');
  const term = leader.currentTerm();
  b.isolate('3');
  b.tick(100); // ten election timeouts alone
  const st3 = b.get('3').status();
  assert.equal(st3.term, term, 'PreVote never succeeded, so the term did not move');
  assert.equal(st3.role, 'candidate');
  assert.equal(st3.preCandidate, true);
  b.heal();
  b.tick(5);
  assert.deepEqual(b.leaders(), ['1']);
  assert.equal(leader.currentTerm(), term, 'the leader was not disrupted');
  assert.equal(b.get('3').status().lead, '1');
});

test('without PreVote the same partition disrupts the cluster (the control case)', () => {
  const b = new Bus(['1', '2', '3'], { preVote: false, checkQuorum: false });
  const leader = b.elect('1');
  const term = leader.currentTerm();
  b.isolate('3');
  b.tick(100);
  assert.ok(b.get('3').currentTerm() > term + 3, 'the isolated node kept bumping its term');
  b.heal();
  b.tick(30);
  assert.ok(leader.currentTerm() > term, 'its higher term forced a new election');
});

test('CheckQuorum: an isolated leader steps down within two election timeouts; the rest elect anew', () => {
  const b = new Bus(['1', '2', '3']);
  const leader = b.elect('1');
  b.isolate('1');
  let steppedDownAfter = -1;
  for (let t = 1; t <= 25; t++) {
    b.tick();
    if (leader.status().role !== 'leader') {
      steppedDownAfter = t;
      break;
    }
  }
  assert.ok(steppedDownAfter > 0 && steppedDownAfter <= 20, `stepped down after ${steppedDownAfter} ticks`);
  b.tick(40);
  const others = b.leaders().filter((id) => id !== '1');
  assert.equal(others.length, 1, 'the majority side elected a leader');

  // Control: without CheckQuorum the isolated leader keeps believing it leads.
  const c = new Bus(['1', '2', '3'], { checkQuorum: false });
  const l2 = c.elect('1');
  c.isolate('1');
  c.tick(60);
  assert.equal(l2.status().role, 'leader');
});

test('leader stickiness: a follower that hears from its leader ignores higher-term (pre)votes', () => {
  const b = new Bus(['1', '2', '3']);
  const leader = b.elect('1');
  const term = leader.currentTerm();
  const f = b.get('2');
  for (const type of ['preVote', 'vote'] as const) {
    f.step({ type, from: '3', to: '2', term: term + 5, lastIndex: 1000, lastTerm: term + 4 });
    assert.equal(f.currentTerm(), term, `${type}: term unchanged`);
    const rd = f.ready();
    assert.equal(rd.messages.filter((m) => m.type === 'voteResp' || m.type === 'preVoteResp').length, 0);
    f.advance(rd);
  }
  // A transfer's vote (from timeoutNow) is the exception: it bypasses the lease.
  f.step({
    type: 'vote',
    from: '3',
    to: '2',
    term: term + 5,
    lastIndex: 1000,
    lastTerm: term + 4,
    transfer: true,
  });
  assert.equal(f.currentTerm(), term + 5);
  assert.equal(f.status().vote, '3');
});

test('replication batches entries per message and pipelines several messages in flight', () => {
  const b = new Bus(['1', '2', '3'], { maxEntriesPerAppend: 2, maxInflight: 3 });
  const leader = b.elect('1');
  b.hold = [];
  for (let i = 0; i < 20; i++) leader.propose(bytes(`e${i}`));
  b.settle();
  const toTwo = b.hold.filter((m) => m.type === 'append' && m.to === '2');
  assert.equal(toTwo.length, 3, 'three appends in flight to a follower before any reply (window of 3)');
  for (const m of toTwo) if (m.type === 'append') assert.ok(m.entries.length <= 2 && m.entries.length > 0);
  // Consecutive: each starts where the previous ended (optimistic nextIndex).
  const [a, c] = [toTwo[0]!, toTwo[1]!];
  if (a.type === 'append' && c.type === 'append') {
    assert.equal(c.prevIndex, a.entries[a.entries.length - 1]!.index);
  }
  const held = b.hold;
  b.hold = undefined;
  for (const m of held) b.deliver(m);
  b.settle();
  b.tick(3);
  for (const id of ['1', '2', '3']) assert.equal(b.nodes.get(id)!.applied.length, 20, `node ${id}`);
});

test('fast backtracking: a follower with a long divergent tail is repaired in a few round trips', () => {
  const b = new Bus(['1', '2', '3']);
  const old = b.elect('1');
  // Leader 1 appends 30 entries nobody else gets, then loses leadership.
  b.isolate('1');
  for (let i = 0; i < 30; i++) old.propose(bytes(`lost${i}`));
  b.settle();
  b.tick(40);
  const [second] = b.leaders().filter((id) => id !== '1');
  assert.ok(second);
  // The majority's log runs as far as the divergent one, with another term at the same indices.
  b.propose(second, ...Array.from({ length: 30 }, (_, i) => `kept${i}`));
  b.tick(2);
  // Leadership moves on, so the leader that meets node 1 again starts probing at its own last index.
  const newLeader = second === '2' ? '3' : '2';
  b.get(second).transferLeadership(newLeader);
  b.tick(2);
  assert.deepEqual(
    b.leaders().filter((id) => id !== '1'),
    [newLeader],
  );
  const before = b.delivered.length;
  b.heal();
  b.tick(5);
  const rejects = b.delivered
    .slice(before)
    .filter(
      (m) =>
        m.type === 'appendResp' && m.from === '1' && !m.success && m.term === b.get(newLeader).currentTerm(),
    );
  assert.ok(
    rejects.length >= 1 && rejects.length <= 2,
    `${rejects.length} rejections to skip 30 divergent entries`,
  );
  assert.deepEqual(b.nodes.get('1')!.applied, b.nodes.get(newLeader)!.applied);
  assert.ok(!b.nodes.get('1')!.applied.some((v) => v.startsWith('lost')));
});

test('snapshot: a far-behind follower catches up from the leader snapshot after compaction', () => {
  const b = new Bus(['1', '2', '3']);
  const leader = b.elect('1');
  b.down.add('3');
  for (let i = 0; i < 40; i++) leader.propose(bytes(`v${i}`));
  b.settle();
  b.tick(2);
  const applied = leader.status().applied;
  leader.compact(applied, bytes(`state@${applied}`));
  b.get('2').compact(b.get('2').status().applied, bytes('follower state'));
  assert.equal(leader.status().snapshotIndex, applied);
  b.down.delete('3');
  b.tick(5);
  const n3 = b.nodes.get('3')!;
  assert.equal(n3.snapshots.length, 1, 'one snapshot installed');
  assert.equal(n3.snapshots[0]!.meta.index, applied);
  assert.equal(text(n3.snapshots[0]!.data), `state@${applied}`);
  assert.deepEqual(n3.snapshots[0]!.meta.conf, { voters: ['1', '2', '3'], learners: [] });
  // Replication continues normally after the snapshot.
  b.propose('1', 'after');
  b.tick(2);
  assert.deepEqual(n3.applied, ['after']);
  assert.equal(b.get('3').status().commit, leader.status().commit);
});

test('ReadIndex: served only after a quorum confirms leadership; followers forward to the leader', () => {
  const b = new Bus(['1', '2', '3']);
  const leader = b.elect('1');
  b.propose('1', 'x');
  b.tick(2);
  const commit = leader.status().commit;
  // Leader: the read point is known only once a heartbeat round is acknowledged.
  b.hold = [];
  leader.readIndex('r1');
  b.settle();
  assert.deepEqual(b.nodes.get('1')!.readStates, [], 'not before the heartbeat round');
  const held = b.hold;
  b.hold = undefined;
  for (const m of held) b.deliver(m);
  b.settle();
  assert.deepEqual(b.nodes.get('1')!.readStates, [{ index: commit, context: 'r1' }]);
  // Follower: forwarded to the leader, answered with the leader's commit index.
  assert.equal(b.get('2').readIndex('r2'), true);
  b.settle();
  assert.deepEqual(b.nodes.get('2')!.readStates, [{ index: commit, context: 'r2' }]);
  // An isolated leader cannot confirm leadership: the read never completes.
  b.isolate('1');
  leader.readIndex('r3');
  b.tick(5);
  assert.equal(b.nodes.get('1')!.readStates.length, 1);
  // A node that knows no leader drops the request.
  const lone = new Bus(['1', '2', '3']);
  assert.equal(lone.get('2').readIndex('r4'), false);
});

test('ReadIndex on a new leader waits until it has committed an entry of its term', () => {
  const b = new Bus(['1', '2', '3']);
  b.settle();
  b.hold = [];
  const leader = b.get('1');
  leader.campaign();
  // Deliver PreVote, then vote rounds by hand until 1 leads; its first append is then held.
  for (let i = 0; i < 5 && leader.status().role !== 'leader'; i++) {
    b.settle();
    const round = b.hold;
    b.hold = [];
    for (const m of round) b.deliver(m);
  }
  b.settle();
  assert.equal(leader.status().role, 'leader');
  assert.notEqual(leader.log.term(leader.status().commit), leader.currentTerm());
  leader.readIndex('early');
  b.settle();
  assert.deepEqual(b.nodes.get('1')!.readStates, []);
  const held = b.hold;
  b.hold = undefined;
  for (const m of held) b.deliver(m);
  b.settle();
  b.tick(2);
  const rs = b.nodes.get('1')!.readStates;
  assert.equal(rs.length, 1);
  assert.equal(rs[0]!.context, 'early');
  assert.equal(leader.log.term(rs[0]!.index), leader.currentTerm());
});

test('leadership transfer catches the target up, then hands over with timeoutNow', () => {
  const b = new Bus(['1', '2', '3']);
  const leader = b.elect('1');
  const term = leader.currentTerm();
  b.down.add('3');
  b.propose('1', 'a', 'b', 'c');
  b.down.delete('3');
  leader.transferLeadership('3');
  assert.throws(() => leader.propose(bytes('during')), ProposalDroppedError);
  b.settle();
  const timeoutNow = b.delivered.filter((m) => m.type === 'timeoutNow');
  assert.equal(timeoutNow.length, 1);
  assert.deepEqual(b.leaders(), ['3']);
  assert.equal(b.get('3').currentTerm(), term + 1);
  assert.equal(leader.status().role, 'follower');
  b.propose('3', 'd');
  b.tick(2);
  for (const id of ['1', '2', '3'])
    assert.deepEqual(b.nodes.get(id)!.applied, ['a', 'b', 'c', 'd'], `node ${id}`);
});

test('a transfer to an unreachable node is abandoned after an election timeout', () => {
  const b = new Bus(['1', '2', '3']);
  const leader = b.elect('1');
  b.propose('1', 'a');
  b.down.add('3');
  b.propose('1', 'b');
  leader.transferLeadership('3');
  assert.equal(leader.status().leadTransferee, '3');
  b.tick(12);
  assert.equal(leader.status().leadTransferee, '');
  assert.equal(leader.status().role, 'leader');
  leader.propose(bytes('c'));
});

test('learner: receives the log without voting, then is promoted to voter', () => {
  const b = new Bus(['1', '2', '3']);
  const leader = b.elect('1');
  b.propose('1', 'a');
  b.add('4', []);
  leader.proposeConfChange({ type: 'addLearner', nodeId: '4' });
  assert.throws(() => leader.proposeConfChange({ type: 'addNode', nodeId: '5' }), ProposalDroppedError);
  b.tick(3);
  assert.deepEqual(leader.confState(), { voters: ['1', '2', '3'], learners: ['4'] });
  assert.deepEqual(b.nodes.get('4')!.applied, ['a'], 'the learner got the log');
  assert.deepEqual(b.get('4').confState(), { voters: ['1', '2', '3'], learners: ['4'] });
  // A learner never campaigns and does not count toward a quorum.
  b.down.add('2');
  b.down.add('3');
  leader.propose(bytes('needs-a-voter'));
  b.tick(3);
  assert.ok(!b.nodes.get('1')!.applied.includes('needs-a-voter'), 'leader + learner is not a quorum');
  b.tick(30);
  assert.notEqual(b.get('4').status().role, 'leader');
  assert.equal(b.get('4').status().preCandidate, false, 'a learner never campaigns');
  b.down.delete('2');
  b.down.delete('3');
  b.tick(40);
  const [l] = b.leaders();
  assert.ok(l && l !== '4');
  b.get(l).proposeConfChange({ type: 'addNode', nodeId: '4' });
  b.tick(3);
  for (const id of ['1', '2', '3', '4']) {
    assert.deepEqual(b.get(id).confState(), { voters: ['1', '2', '3', '4'], learners: [] }, `node ${id}`);
  }
  // Node 4 now votes: it can be elected.
  b.get(l).transferLeadership('4');
  b.tick(3);
  assert.deepEqual(b.leaders(), ['4']);
});

test('removal: a removed leader steps down, the rest elect a leader, the removed node stays quiet', () => {
  const b = new Bus(['1', '2', '3']);
  const leader = b.elect('1');
  b.propose('1', 'a');
  leader.proposeConfChange({ type: 'removeNode', nodeId: '1' });
  b.settle();
  b.tick(1);
  assert.equal(leader.status().role, 'follower', 'the leader stepped down once its removal applied');
  assert.deepEqual(leader.confState().voters, ['2', '3']);
  b.tick(40);
  const leaders = b.leaders();
  assert.equal(leaders.length, 1);
  assert.notEqual(leaders[0], '1');
  assert.notEqual(leader.status().role, 'candidate', 'a removed node does not campaign');
  b.propose(leaders[0]!, 'b');
  b.tick(2);
  assert.deepEqual(b.nodes.get('2')!.applied, ['a', 'b']);
  assert.deepEqual(b.nodes.get('3')!.applied, ['a', 'b']);
  // Removing a follower shrinks the quorum: the last voter commits alone.
  b.get(leaders[0]!).proposeConfChange({ type: 'removeNode', nodeId: leaders[0] === '2' ? '3' : '2' });
  b.tick(3);
  assert.deepEqual(b.get(leaders[0]!).confState().voters, [leaders[0]]);
  b.down.add(leaders[0] === '2' ? '3' : '2');
  b.propose(leaders[0]!, 'solo');
  b.tick(1);
  assert.deepEqual(b.nodes.get(leaders[0]!)!.applied, ['a', 'b', 'solo']);
  assert.throws(
    () => b.get(leaders[0]!).proposeConfChange({ type: 'removeNode', nodeId: leaders[0]! }),
    ProposalDroppedError,
  );
});

test('propose on a follower or candidate throws NotLeaderError with the known leader', () => {
  const b = new Bus(['1', '2', '3']);
  b.elect('1');
  assert.throws(
    () => b.get('2').propose(bytes('x')),
    (e: unknown) => e instanceof NotLeaderError && e.leader === '1',
  );
});

test('a restarted follower that lost un-fsynced entries is repaired (entries are durable only once persisted)', () => {
  const b = new Bus(['1', '2', '3']);
  const leader = b.elect('1');
  b.propose('1', 'a', 'b');
  b.tick(2);
  const f = b.get('2');
  // Persisted state of node 2 now: everything so far. Snapshot it as "the disk".
  const disk: Entry[] = f.log.slice(1, f.log.lastIndex());
  const hs = { term: f.currentTerm(), vote: f.status().vote, commit: f.status().commit };
  // More entries reach node 2 but it crashes before its Ready is persisted.
  leader.propose(bytes('c'));
  const rd = leader.ready();
  leader.advance(rd);
  for (const m of rd.messages) if (m.to === '2') f.step(m);
  const unpersisted = f.ready(); // taken, never fsynced, never advanced: lost in the crash
  assert.ok(unpersisted.entries.length > 0);
  for (const m of rd.messages) if (m.to === '3') b.get('3').step(m);
  b.nodes.delete('2');
  const restarted = b.add('2', ['1', '2', '3'], {
    hardState: hs,
    snapshot: { index: 0, term: 0 },
    entries: disk,
  });
  b.settle();
  b.tick(3);
  // The state machine restarts empty (applied 0) and replays; the lost entry comes from the leader.
  assert.deepEqual(restarted.applied, ['a', 'b', 'c']);
  assert.equal(restarted.core.status().commit, leader.status().commit);
});
