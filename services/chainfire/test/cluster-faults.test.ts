/**
 * A 3-member ChainFire cluster of real processes under faults, checked for linearizability.
 *
 * Six clients put and get a handful of keys over REST against random members (followers forward
 * writes and serve reads through ReadIndex) and record every call and return. Meanwhile: the leader
 * is killed with SIGKILL (a new leader must be elected within the election timeout and writes must
 * continue), stays down while the others move far ahead (their logs are compacted, so it can only
 * catch up from a snapshot), and is restarted; then a follower and later the leader are paused with
 * SIGSTOP and resumed. At the end every member must hold the same data, and the whole history must
 * be linearizable (the checker of packages/raft/src/sim), which also proves that no acknowledged
 * write was lost. A write that failed or timed out counts as "may or may not have happened".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkLinearizable, kvModel } from '@photoncloud/raft';
import type { KvInput, KvOutput, Operation } from '@photoncloud/raft';
import { waitFor } from '@photoncloud/test-utils';
import { Cluster } from './cluster-harness.js';

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];
/** Upper bound of the randomized election timeout: electionTick 10 × 2 × tick 100 ms. */
const MAX_ELECTION_TIMEOUT_MS = 2000;

type Op = Operation<KvInput, KvOutput>;

interface Recorder {
  ops: Op[];
  acked: number;
  failed: number;
}

async function restPut(url: string, key: string, value: string): Promise<'ok' | 'failed'> {
  try {
    const r = await fetch(`${url}/api/v1/kv/${key}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value }),
      signal: AbortSignal.timeout(2500),
    });
    await r.text();
    return r.status === 200 ? 'ok' : 'failed';
  } catch {
    return 'failed';
  }
}

async function restGet(url: string, key: string): Promise<{ value: string | null } | undefined> {
  try {
    const r = await fetch(`${url}/api/v1/kv/${key}`, { signal: AbortSignal.timeout(2500) });
    const body = (await r.json()) as { data?: { value: string } };
    if (r.status === 200) return { value: body.data!.value };
    if (r.status === 404) return { value: null };
    return undefined;
  } catch {
    return undefined;
  }
}

/** One client: ops never overlap; after a write with an unknown outcome it continues under a new ID. */
async function client(
  c: Cluster,
  firstId: number,
  rec: Recorder,
  stop: () => boolean,
  t0: number,
): Promise<void> {
  let id = firstId;
  let seq = 0;
  let member = firstId % c.members.length;
  while (!stop()) {
    const key = KEYS[(id * 7 + seq) % KEYS.length]!;
    const url = c.members[member]!.httpUrl;
    const call = performance.now() - t0;
    if (seq % 3 !== 2) {
      const value = `${firstId}-${seq}`;
      const res = await restPut(url, key, value);
      const ret = performance.now() - t0;
      if (res === 'ok') {
        rec.ops.push({ clientId: id, input: { kind: 'put', key, value }, output: {}, call, ret });
        rec.acked++;
      } else {
        rec.ops.push({ clientId: id, input: { kind: 'put', key, value }, output: {}, call, ret: Infinity });
        rec.failed++;
        id += 1000;
        member = (member + 1) % c.members.length;
        await new Promise((r) => setTimeout(r, 50));
      }
    } else {
      const res = await restGet(url, key);
      const ret = performance.now() - t0;
      // A failed read has no effect: it is simply left out.
      if (res)
        rec.ops.push({ clientId: id, input: { kind: 'get', key }, output: { value: res.value }, call, ret });
      else member = (member + 1) % c.members.length;
    }
    seq++;
  }
}

test(
  '3 ChainFire processes: kill -9 the leader, restart it (snapshot catch-up), SIGSTOP/SIGCONT — linearizable, nothing acknowledged lost',
  { timeout: 150_000 },
  async (t) => {
    const cluster = await Cluster.start({
      size: 3,
      env: {
        // Compact early so that the killed leader can only catch up from a snapshot.
        PHOTONCLOUD_CHAINFIRE_CHECKPOINT_ENTRIES: '200',
        PHOTONCLOUD_CHAINFIRE_SNAPSHOT_CATCHUP_ENTRIES: '20',
        PHOTONCLOUD_LOG_LEVEL: 'info',
      },
    });
    const rec: Recorder = { ops: [], acked: 0, failed: 0 };
    let electionMs = NaN;
    let stopping = false;
    const t0 = performance.now();
    const clients = Array.from({ length: 6 }, (_, i) => client(cluster, i, rec, () => stopping, t0));
    try {
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      await sleep(3000);

      // 1. Kill -9 the leader: the survivors elect a new one within the election timeout.
      const first = await cluster.waitLeader();
      const others = [0, 1, 2].filter((i) => i !== first);
      const ackedBefore = rec.acked;
      const killedAt = performance.now();
      await cluster.kill(first);
      const second = await cluster.waitLeader(others, 10_000);
      electionMs = performance.now() - killedAt;
      assert.ok(
        electionMs < MAX_ELECTION_TIMEOUT_MS + 1500,
        `new leader after ${Math.round(electionMs)} ms (election timeout ≤ ${MAX_ELECTION_TIMEOUT_MS} ms)`,
      );
      // 2. Writes continue without the old leader, far enough for it to need a snapshot.
      const statusBefore = await cluster.status(second);
      await waitFor(
        async () => ((await cluster.status(second))?.applied_index ?? 0) > statusBefore!.applied_index + 400,
        {
          timeoutMs: 30_000,
          intervalMs: 200,
          what: 'writes to continue on the new leader',
        },
      );
      assert.ok(rec.acked > ackedBefore + 100, 'writes were acknowledged after the leader was killed');

      // 3. Restart the old leader: it rejoins and catches up (from a snapshot: its log is behind the
      // compaction point of the others).
      await cluster.startMember(first);
      await waitFor(
        async () => {
          const [me, lead] = await Promise.all([cluster.status(first), cluster.status(second)]);
          return (
            me !== undefined &&
            lead !== undefined &&
            me.leader_id !== null &&
            me.applied_index >= lead.commit_index - 5
          );
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'the old leader to catch up' },
      );
      assert.match(cluster.members[first]!.proc!.stdout(), /installing snapshot/);

      // 4. Pause a follower for 3 s, then the leader for 3 s (a new leader takes over).
      const leader3 = await cluster.waitLeader();
      const follower = [0, 1, 2].find((i) => i !== leader3)!;
      cluster.signal(follower, 'SIGSTOP');
      await sleep(3000);
      cluster.signal(follower, 'SIGCONT');
      await sleep(1000);
      const leader4 = await cluster.waitLeader();
      cluster.signal(leader4, 'SIGSTOP');
      await cluster.waitLeader(
        [0, 1, 2].filter((i) => i !== leader4),
        10_000,
      );
      await sleep(1500);
      cluster.signal(leader4, 'SIGCONT');
      await cluster.waitLeader();
      await sleep(1500);
    } finally {
      stopping = true;
      await Promise.all(clients);
    }
    try {
      // Final reads from every member: all agree, and they join the history.
      const leader = await cluster.waitLeader();
      const lead = await cluster.status(leader);
      await waitFor(
        async () => {
          const st = await Promise.all([0, 1, 2].map((i) => cluster.status(i)));
          return st.every((s) => s !== undefined && s.applied_index >= lead!.commit_index);
        },
        { timeoutMs: 20_000, intervalMs: 100, what: 'every member to apply everything' },
      );
      for (const key of KEYS) {
        const seen: Array<string | null> = [];
        for (const m of [0, 1, 2]) {
          const call = performance.now() - t0;
          const r = await restGet(cluster.members[m]!.httpUrl, key);
          assert.ok(r, `final read of ${key} on member ${m}`);
          rec.ops.push({
            clientId: 9000 + m,
            input: { kind: 'get', key },
            output: { value: r.value },
            call,
            ret: performance.now() - t0,
          });
          seen.push(r.value);
        }
        assert.ok(
          seen.every((v) => v === seen[0]),
          `members agree on ${key}: ${JSON.stringify(seen)}`,
        );
      }
      const result = checkLinearizable(kvModel, rec.ops);
      t.diagnostic(
        `${rec.ops.length} operations, ${rec.acked} acknowledged writes, ${rec.failed} with unknown outcome; new leader ${Math.round(electionMs)} ms after kill -9; checker ${result.result} in ${result.steps} steps`,
      );
      if (result.result === 'illegal') {
        // Print the key's history, so that a failure can be analysed from the CI log.
        const key = [...new Set(rec.ops.map((o) => o.input.key))].sort()[result.failedPartition ?? 0];
        for (const o of rec.ops.filter((x) => x.input.key === key).sort((a, b) => a.call - b.call))
          t.diagnostic(
            `${o.call.toFixed(1)}..${o.ret.toFixed(1)} c${o.clientId} ${o.input.kind} ${o.input.key} ${o.input.value ?? ''} -> ${o.output.value ?? ''}`,
          );
      }
      assert.equal(
        result.result,
        'ok',
        `history of ${rec.ops.length} operations (${rec.acked} acknowledged writes, ${rec.failed} unknown) is not linearizable: ${JSON.stringify(result)}`,
      );
      assert.ok(rec.acked > 300, `enough acknowledged writes (${rec.acked})`);
    } finally {
      await cluster.close();
    }
  },
);
