/**
 * A watcher on a member that catches up from a snapshot still sees every event, in order. The
 * member is cut off (link proxies, cluster-harness.ts) while the others take hundreds of writes and
 * compact their logs, so that after healing it can only catch up by installing a snapshot; the
 * revisions the snapshot covers were never applied one by one there, yet an etcd v3 watch on that
 * member (the platform's own EtcdStore client) must deliver each of them, like a watch on any other.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EtcdStore } from '@photoncloud/store';
import type { WatchResponse } from '@photoncloud/store';
import { waitFor } from '@photoncloud/test-utils';
import { Cluster } from './cluster-harness.js';
import { restPut } from './cluster-history.js';

const text = new TextDecoder();

test('a watch on a member that installs a snapshot delivers every revision the snapshot covers, in order', async () => {
  const cluster = await Cluster.start({
    size: 3,
    partitionable: true,
    env: {
      // Compact early, so that the cut-off member can only catch up from a snapshot.
      PHOTONCLOUD_CHAINFIRE_CHECKPOINT_ENTRIES: '100',
      PHOTONCLOUD_CHAINFIRE_SNAPSHOT_CATCHUP_ENTRIES: '20',
      PHOTONCLOUD_LOG_LEVEL: 'info',
    },
  });
  const leader = await cluster.waitLeader();
  const lone = [0, 1, 2].find((i) => i !== leader)!;
  const store = new EtcdStore({ endpoints: [cluster.members[lone]!.grpcAddress] });
  const seen: Array<{ rev: number; key: string; value: string }> = [];
  const canceled: WatchResponse[] = [];
  try {
    // Keys `w.*`: the range [w., w/).
    const watcher = await store.watch({ key: Buffer.from('w.'), rangeEnd: Buffer.from('w/') }, (r) => {
      if (r.canceled) canceled.push(r);
      for (const e of r.events)
        seen.push({ rev: e.kv.modRevision, key: text.decode(e.kv.key), value: text.decode(e.kv.value) });
    });
    const written: Array<{ key: string; value: string }> = [];
    const put = async (n: number): Promise<void> => {
      const key = `w.${n % 40}`;
      const value = `v${n}`;
      assert.equal(await restPut(cluster.members[leader]!.httpUrl, key, value), 'ok', `put ${key}`);
      written.push({ key, value });
    };
    const sawAll = (what: string) =>
      waitFor(() => seen.length >= written.length, { timeoutMs: 20_000, intervalMs: 50, what });

    for (let n = 0; n < 5; n++) await put(n);
    await sawAll('the watcher to see the first writes');

    cluster.isolate(lone);
    for (let n = 5; n < 405; n++) await put(n);
    cluster.heal();
    const lead = (await cluster.status(leader))!;
    await waitFor(async () => ((await cluster.status(lone))?.applied_index ?? 0) >= lead.commit_index, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the cut-off member to catch up',
    });
    assert.match(
      cluster.members[lone]!.proc!.stdout(),
      /installing snapshot/,
      'it caught up from a snapshot',
    );
    for (let n = 405; n < 410; n++) await put(n);
    await sawAll('the watcher to see every write');

    assert.deepEqual(canceled, [], 'the watch was not cancelled');
    assert.deepEqual(
      seen.map(({ key, value }) => ({ key, value })),
      written,
      'every write, once, in the order written',
    );
    for (let i = 1; i < seen.length; i++)
      assert.ok(seen[i]!.rev > seen[i - 1]!.rev, `revisions increase at event ${i}`);
    await watcher.cancel();
    // Snapshots travel as files (storage/snapshot-file.ts): sent and installed ones are removed.
    await waitFor(
      () =>
        cluster.members.every((m) => {
          const dir = join(m.dataDir, 'chainfire', 'member', 'snap');
          return existsSync(dir) && readdirSync(dir).length === 0;
        }),
      { timeoutMs: 10_000, what: 'no snapshot files left behind' },
    );
  } finally {
    await store.close();
    await cluster.close();
  }
});
