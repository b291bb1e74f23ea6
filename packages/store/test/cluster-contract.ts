/** Contract: status and membership, as etcd's Maintenance.Status and Cluster.MemberList report them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes } from '../src/keys.js';
import type { ContractContext } from './contract-helpers.js';

const T = { timeout: 60_000 };

/** Register the status/member tests. */
export function clusterContract(ctx: ContractContext): void {
  test('status: version string, numeric raft fields, a leader among the members', T, async () => {
    const store = ctx.store();
    const s = ctx.space('status');
    const { header } = await store.put({ key: s.key('k'), value: bytes('1') });
    const st = await store.status();
    assert.match(st.version, /^\d+\.\d+\.\d+/);
    for (const [name, v] of Object.entries({
      dbSize: st.dbSize,
      raftIndex: st.raftIndex,
      raftTerm: st.raftTerm,
      raftAppliedIndex: st.raftAppliedIndex,
      revision: st.header.revision,
    })) {
      assert.ok(typeof v === 'number' && Number.isFinite(v) && v >= 0, `${name} is a number (${String(v)})`);
    }
    assert.ok(st.raftTerm >= 1, 'a leader was elected in some term');
    assert.ok(st.raftIndex >= 1 && st.raftAppliedIndex >= 1);
    assert.ok(st.dbSize > 0, 'the backend holds something');
    assert.ok(st.header.revision >= header.revision);
    assert.equal(st.isLearner, false);
    assert.deepEqual(st.errors, []);

    const ml = await store.memberList();
    assert.ok(ml.members.length >= 1);
    for (const m of ml.members) {
      assert.match(m.id, /^[1-9]\d*$/);
      assert.equal(typeof m.name, 'string');
      assert.ok(Array.isArray(m.peerUrls) && Array.isArray(m.clientUrls));
    }
    assert.ok(
      ml.members.some((m) => m.id === st.leader),
      `leader ${st.leader} is one of the members ${ml.members.map((m) => m.id).join(',')}`,
    );
    assert.ok(
      ml.members.some((m) => m.id === st.header.memberId),
      'the answering member is one of the members',
    );
    assert.equal(ml.header.clusterId, st.header.clusterId);
  });
}
