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
 * write was lost (cluster-history.ts). Partitions are in cluster-partition.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '@photoncloud/test-utils';
import { Cluster } from './cluster-harness.js';
import { MAX_ELECTION_TIMEOUT_MS, checkFinalState, client } from './cluster-history.js';
import type { Recorder } from './cluster-history.js';

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
      await cluster.waitCaughtUp(first, second, {
        slack: 5,
        timeoutMs: 30_000,
        what: 'the old leader to catch up',
      });
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
      t.diagnostic(`new leader ${Math.round(electionMs)} ms after kill -9`);
      await checkFinalState(t, cluster, rec, t0);
      assert.ok(rec.acked > 300, `enough acknowledged writes (${rec.acked})`);
    } finally {
      await cluster.close();
    }
  },
);
