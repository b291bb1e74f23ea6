/**
 * ChainFire as a 3-member cluster (servers in this process, talking over their gRPC listeners):
 * joining (a new member asks any member, is added as a learner, catches up and is promoted), the
 * real cluster status on every member, writes through followers over REST and etcd gRPC, the
 * membership APIs (`POST /api/v1/cluster/members`, etcdctl member list/add/remove), and bounded
 * failure without a quorum: 503 SERVICE_UNAVAILABLE over REST and UNAVAILABLE over gRPC.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadEtcdProto } from '@photoncloud/etcd-proto';
import { createLogger } from '@photoncloud/log';
import { freePort, run, startLinkProxy, tempDir, waitFor } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { startChainFireServer } from '../src/server.js';
import type { ChainFireServer } from '../src/server.js';
import { readClusterSecret } from '../src/cluster/cluster-secret.js';

interface Status {
  node_id: number;
  member_id: string;
  term: number;
  role: string;
  is_leader: boolean;
  leader_id: number | null;
  applied_index: number;
  members: Array<{ id: number; member_id: string; is_learner: boolean; peer_urls: string[] }>;
}

const logger = createLogger({ service: 'chainfire-cluster-test', level: 'silent' });

/** The envelope fields these tests read. */
interface Reply {
  data: {
    value: string;
    id: number;
    member_id: string;
    is_learner: boolean;
    peer_urls: string[];
  };
  error: { code: string };
}

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Reply }> {
  const r = await fetch(url, init);
  return { status: r.status, body: (await r.json()) as Reply };
}

async function status(s: ChainFireServer): Promise<Status> {
  return ((await json(`${s.httpUrl}/api/v1/cluster/status`)).body as unknown as { data: Status }).data;
}

function etcdctl(endpoint: string, args: string[]) {
  return run('etcdctl', [`--endpoints=${endpoint}`, '--command-timeout=5s', ...args], {
    env: { ETCDCTL_API: '3' },
    timeoutMs: 20_000,
  });
}

describe('a 3-member ChainFire cluster', () => {
  const dirs: TempDir[] = [];
  const servers: Array<ChainFireServer | undefined> = [];
  const start = async (join?: string): Promise<ChainFireServer> => {
    const dir = await tempDir('cf-member-');
    dirs.push(dir);
    const s = await startChainFireServer({
      dataDir: dir.path,
      host: '127.0.0.1',
      httpPort: await freePort(),
      grpcPort: await freePort(),
      authMode: 'local',
      logger,
      requestTimeoutMs: 1500,
      // Joiners get the secret the first member created.
      ...(join === undefined ? {} : { join, clusterSecret: readClusterSecret(dirs[0]!.path)! }),
    });
    servers.push(s);
    return s;
  };
  const s = (i: number): ChainFireServer => servers[i]!;

  before(async () => {
    await start();
    await fetch(`${s(0).httpUrl}/api/v1/kv/before-join`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'v0' }),
    });
    // The second member joins through the first, the third through the second (a follower relays).
    await start(s(0).grpcAddress);
    await waitFor(async () => (await status(s(1))).members.every((m) => !m.is_learner), {
      timeoutMs: 20_000,
      what: 'member 2 promoted',
    });
    await start(s(1).grpcAddress);
    await waitFor(
      async () => {
        const st = await status(s(2));
        return st.members.length === 3 && st.members.every((m) => !m.is_learner) && st.leader_id !== null;
      },
      { timeoutMs: 20_000, what: 'member 3 promoted' },
    );
  });

  after(async () => {
    for (const srv of servers) await srv?.close().catch(() => undefined);
    for (const d of dirs) await d.cleanup();
  });

  test('cluster status is real on every member: node IDs, one leader, agreed term and leader', async () => {
    const st = await Promise.all([0, 1, 2].map((i) => status(s(i))));
    assert.deepEqual(
      st.map((x) => x.node_id),
      [1, 2, 3],
    );
    const leaders = st.filter((x) => x.is_leader);
    assert.equal(leaders.length, 1);
    assert.equal(leaders[0]!.role, 'leader');
    for (const x of st) {
      assert.equal(x.leader_id, leaders[0]!.node_id);
      assert.equal(x.term, leaders[0]!.term);
      assert.ok(x.applied_index > 3);
      assert.equal(x.members.length, 3);
      if (!x.is_leader) assert.equal(x.role, 'follower');
    }
    // The joined members caught up with what was written before they joined.
    for (const i of [1, 2]) {
      const r = await json(`${s(i).httpUrl}/api/v1/kv/before-join`);
      assert.equal(r.body.data.value, 'v0');
    }
  });

  test('writes through any member (REST and etcd gRPC) are read linearizably on every member', async () => {
    for (const i of [0, 1, 2]) {
      const put = await json(`${s(i).httpUrl}/api/v1/kv/from-${i}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: `rest-${i}` }),
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      for (const j of [0, 1, 2]) {
        const got = await json(`${s(j).httpUrl}/api/v1/kv/from-${i}`);
        assert.equal(got.body.data.value, `rest-${i}`);
      }
      const gput = await etcdctl(s(i).grpcAddress, ['put', `grpc-${i}`, `g${i}`]);
      assert.equal(gput.code, 0, gput.stderr);
      for (const j of [0, 1, 2]) {
        const gget = await etcdctl(s(j).grpcAddress, ['get', `grpc-${i}`, '--print-value-only']);
        assert.equal(gget.stdout, `g${i}\n`);
      }
    }
  });

  test('membership: POST /api/v1/cluster/members adds a learner; etcdctl lists and removes it', async () => {
    const follower = (await Promise.all([0, 1, 2].map((i) => status(s(i))))).findIndex((x) => !x.is_leader);
    const url = `${s(follower).httpUrl}/api/v1/cluster/members`;
    const post = (body: unknown) =>
      json(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const added = await post({ node_id: 7, address: '127.0.0.1:1' });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.body.data.id, 7);
    assert.equal(added.body.data.is_learner, true);
    assert.deepEqual(added.body.data.peer_urls, ['http://127.0.0.1:1']);
    const memberId = added.body.data.member_id;

    const dup = await post({ address: '127.0.0.1:1' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'CONFLICT');
    const dupId = await post({ node_id: 7, address: '127.0.0.1:2' });
    assert.equal(dupId.status, 409);
    const voter = await post({ address: '127.0.0.1:3', is_learner: false });
    assert.equal(voter.status, 201, 'three running voters can take a fourth');
    const voterId = voter.body.data.member_id;
    for (const bad of [{}, { address: 'nope' }, { address: '127.0.0.1:1', node_id: 0 }, { address: 5 }]) {
      const r = await post(bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.body.error.code, 'VALIDATION_ERROR');
    }

    const hex = BigInt(memberId).toString(16);
    const list = await etcdctl(s(0).grpcAddress, ['member', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 5);
    assert.match(list.stdout, new RegExp(`^${hex}, unstarted, , http://127\\.0\\.0\\.1:1, , true$`, 'm'));
    assert.equal(lines.filter((l) => / started, .*, false$/.test(l)).length, 3);
    // The fourth voter never started: removing it restores a healthy 3-voter cluster.
    for (const id of [voterId, memberId]) {
      const rm = await etcdctl(s(2).grpcAddress, ['member', 'remove', BigInt(id).toString(16)]);
      assert.equal(rm.code, 0, rm.stderr);
    }
    const after = await etcdctl(s(1).grpcAddress, ['member', 'list']);
    assert.equal(after.stdout.trim().split('\n').length, 3);
    const missing = await etcdctl(s(1).grpcAddress, ['member', 'remove', 'abcdef']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /member not found/);
  });

  test('etcdctl member update moves a follower to a new peer URL: the others dial it there', async () => {
    const st = await Promise.all([0, 1, 2].map((i) => status(s(i))));
    const leader = st.findIndex((x) => x.is_leader);
    const f = st.findIndex((x) => !x.is_leader);
    // The new URL is a relay in front of the follower's own listener, which the test can cut.
    const port = Number(s(f).grpcAddress.split(':')[1]);
    const relay = await startLinkProxy('127.0.0.1', port);
    const put = (key: string) =>
      fetch(`${s(leader).httpUrl}/api/v1/kv/${key}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: 'x' }),
      });
    try {
      const hex = BigInt(st[f]!.member_id).toString(16);
      const url = `http://127.0.0.1:${relay.port}`;
      const upd = await etcdctl(s(leader).grpcAddress, ['member', 'update', hex, `--peer-urls=${url}`]);
      assert.equal(upd.code, 0, upd.stderr);
      await waitFor(
        async () =>
          (await status(s(f))).members.find((m) => m.member_id === st[f]!.member_id)?.peer_urls[0] === url,
        { timeoutMs: 5000, what: 'the follower to apply its new URL' },
      );
      assert.equal((await put('via-relay')).status, 200);
      await waitFor(() => relay.accepted > 0, { timeoutMs: 5000, what: 'a peer to dial the new URL' });
      // Cut the relay: the follower hears nothing more, so its applied index stops while the
      // leader's goes on; healed, it catches up.
      relay.cut();
      const before = (await status(s(f))).applied_index;
      for (let i = 0; i < 5; i++) assert.equal((await put(`cut-${i}`)).status, 200);
      assert.ok((await status(s(leader))).applied_index >= before + 5);
      assert.equal(
        (await status(s(f))).applied_index,
        before,
        'nothing reached the follower past the cut relay',
      );
      relay.heal();
      await waitFor(async () => (await status(s(f))).applied_index >= before + 5, {
        timeoutMs: 10_000,
        what: 'the follower to catch up through the healed relay',
      });
    } finally {
      // Back to its own listener, so that the tests after this one see the cluster as before.
      const back = await etcdctl(s(leader).grpcAddress, [
        'member',
        'update',
        BigInt(st[f]!.member_id).toString(16),
        `--peer-urls=http://${s(f).grpcAddress}`,
      ]);
      assert.equal(back.code, 0, back.stderr);
      await relay.close();
    }
  });

  test('etcdctl move-leader hands leadership to a follower', async () => {
    const st = await Promise.all([0, 1, 2].map((i) => status(s(i))));
    const leader = st.findIndex((x) => x.is_leader);
    const target = st.find((x) => !x.is_leader)!;
    const mv = await etcdctl(s(leader).grpcAddress, ['move-leader', BigInt(target.member_id).toString(16)]);
    assert.equal(mv.code, 0, mv.stderr);
    assert.match(mv.stdout, /Leadership transferred from/);
    const now = await Promise.all([0, 1, 2].map((i) => status(s(i))));
    const newLeader = now.find((x) => x.member_id === target.member_id)!;
    assert.equal(newLeader.is_leader, true);
  });

  test('without a quorum: REST answers 503 SERVICE_UNAVAILABLE and gRPC UNAVAILABLE, in bounded time', async () => {
    const st = await Promise.all([0, 1, 2].map((i) => status(s(i))));
    const keep = st.findIndex((x) => x.is_leader);
    for (const i of [0, 1, 2]) {
      if (i === keep) continue;
      await servers[i]!.close();
      servers[i] = undefined;
    }
    const t0 = performance.now();
    const put = await json(`${s(keep).httpUrl}/api/v1/kv/no-quorum`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'x' }),
    });
    assert.equal(put.status, 503, JSON.stringify(put.body));
    assert.equal(put.body.error.code, 'SERVICE_UNAVAILABLE');
    const get = await json(`${s(keep).httpUrl}/api/v1/kv/before-join`);
    assert.equal(get.status, 503);
    assert.ok(performance.now() - t0 < 10_000, 'bounded wait');

    const KV = loadEtcdProto().clients.KV;
    const kv = new KV(s(keep).grpcAddress, grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        (kv as unknown as { Put: (r: object, cb: (e: grpc.ServiceError | null) => void) => void }).Put(
          { key: Buffer.from('k'), value: Buffer.from('v') },
          (e) => resolve(e),
        ),
      );
      assert.equal(err?.code, grpc.status.UNAVAILABLE);
    } finally {
      kv.close();
    }
  });
});
