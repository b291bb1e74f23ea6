/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and errors are inspected dynamically. */
/**
 * Static bootstrap: three ChainFire processes started at the same time with the same `--initial-cluster`
 * list (and cluster secret) form one cluster — one leader, three voters with the names and peer URLs of
 * the list and node IDs 1..3 — serve writes from any member, survive a kill -9 of the leader, and the
 * restarted member keeps its identity. Bad lists and settings are configuration errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '@photoncloud/log';
import { freePort, run, tempDir } from '@photoncloud/test-utils';
import { startChainFireServer } from '../src/server.js';
import type { ChainFireServerConfig } from '../src/server.js';
import { Cluster } from './cluster-harness.js';

const logger = createLogger({ service: 'chainfire', level: 'silent' });

describe('a cluster started from an initial member list', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await Cluster.start({ size: 3, bootstrap: 'initial-cluster' });
  });
  after(async () => {
    await cluster?.close();
  });

  test('one leader; three voters named and addressed as listed, node IDs 1..3, one cluster ID', async () => {
    const leader = await cluster.waitLeader();
    const statuses = await Promise.all([0, 1, 2].map((i) => cluster.status(i)));
    const clusterIds = new Set(statuses.map((s: any) => s.cluster_id));
    assert.equal(clusterIds.size, 1, 'every member reports the same cluster ID');
    assert.match(String([...clusterIds][0]), /^[1-9]\d*$/);
    assert.deepEqual(statuses.map((s) => s!.node_id).sort(), [1, 2, 3]);
    for (const s of statuses) {
      assert.equal(s!.members.length, 3);
      assert.ok(s!.members.every((m) => !m.is_learner));
    }
    const ctl = await run(
      'etcdctl',
      ['--endpoints', cluster.members[leader]!.grpcAddress, 'member', 'list', '-w', 'json'],
      { env: { ETCDCTL_API: '3' } },
    );
    assert.equal(ctl.code, 0, ctl.stderr);
    const listed = (JSON.parse(ctl.stdout).members as any[])
      .map((m) => `${m.name}=${m.peerURLs[0]}`)
      .sort()
      .join(',');
    assert.equal(listed, cluster.members.map((m) => `m${m.index}=http://${m.grpcAddress}`).join(','));
  });

  test('writes through a follower reach every member; after kill -9 of the leader a new one takes over and the old one rejoins as itself', async () => {
    const leader = await cluster.waitLeader();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    const put = await fetch(`${cluster.members[follower]!.httpUrl}/api/v1/kv/static-key`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'one' }),
    });
    assert.equal(put.status, 200);
    for (const m of cluster.members) {
      const got = (await (await fetch(`${m.httpUrl}/api/v1/kv/static-key`)).json()) as any;
      assert.equal(got.data.value, 'one', `member ${m.index} reads the write`);
    }
    const before = await cluster.status(leader);
    await cluster.kill(leader);
    const others = [0, 1, 2].filter((i) => i !== leader);
    const next = await cluster.waitLeader(others, 10_000);
    const put2 = await fetch(`${cluster.members[next]!.httpUrl}/api/v1/kv/static-key`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'two' }),
    });
    assert.equal(put2.status, 200);
    // Restarted with the same flags: the list is ignored now, the member keeps its identity.
    await cluster.startMember(leader);
    await cluster.waitCaughtUp(leader, next, { what: 'the restarted member catches up' });
    const after = await cluster.status(leader);
    assert.equal(after!.member_id, before!.member_id);
    assert.equal(after!.node_id, before!.node_id);
    const got = (await (
      await fetch(`${cluster.members[leader]!.httpUrl}/api/v1/kv/static-key`)
    ).json()) as any;
    assert.equal(got.data.value, 'two');
  });
});

test('bad initial cluster settings are configuration errors', async () => {
  const dir = await tempDir('cf-initial-bad-');
  try {
    const grpcPort = await freePort();
    const self = `http://127.0.0.1:${grpcPort}`;
    const cfg = (over: Partial<ChainFireServerConfig>): ChainFireServerConfig => ({
      dataDir: dir.path,
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort,
      authMode: 'local',
      logger,
      clusterSecret: 'initial-cluster-test-secret',
      ...over,
    });
    const refused = async (over: Partial<ChainFireServerConfig>, re: RegExp) =>
      assert.rejects(startChainFireServer(cfg(over)), (e: any) => {
        assert.equal(e.name, 'ConfigError', e.stack);
        assert.match(e.message, re);
        return true;
      });
    await refused(
      { initialCluster: 'a=http://127.0.0.1:1,b=http://127.0.0.1:2' },
      /is not in the initial cluster/,
    );
    await refused({ initialCluster: `a=${self},a=http://127.0.0.1:2` }, /name "a" appears twice/);
    await refused({ initialCluster: `a=${self},b=${self}` }, /appears twice/);
    await refused({ initialCluster: `a=${self},b=ftp://127.0.0.1:2` }, /is not name=http\(s\):\/\/host:port/);
    await refused({ initialCluster: `a=${self},b` }, /is not name=http\(s\):\/\/host:port/);
    await refused({ initialCluster: `a=${self}`, join: '127.0.0.1:1' }, /exclude each other/);
    await refused({ initialCluster: `a=${self}`, grpcPort: 0 }, /needs a fixed gRPC port/);
    const saved = process.env.PHOTONCLOUD_CLUSTER_SECRET;
    delete process.env.PHOTONCLOUD_CLUSTER_SECRET;
    try {
      const noSecret = cfg({ initialCluster: `a=${self},b=http://127.0.0.1:2` });
      delete noSecret.clusterSecret;
      await assert.rejects(startChainFireServer(noSecret), /needs its cluster secret/);
    } finally {
      if (saved !== undefined) process.env.PHOTONCLOUD_CLUSTER_SECRET = saved;
    }
  } finally {
    await dir.cleanup();
  }
});
