import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapEntryData, parseInitialCluster, staticCluster } from './initial-cluster.js';

test('parseInitialCluster reads name=url items and canonicalizes the URLs', () => {
  assert.deepEqual(parseInitialCluster(' a=http://10.0.0.5:50051/, b=https://[::1]:2379 ,'), [
    { name: 'a', peerUrl: 'http://10.0.0.5:50051' },
    { name: 'b', peerUrl: 'https://[::1]:2379' },
  ]);
  for (const bad of [
    '',
    'a',
    'a=',
    '=http://h:1',
    'a=http://h',
    'a=http://h:1/x',
    'a b=http://h:1',
    'a=unix://h:1',
  ]) {
    assert.throws(() => parseInitialCluster(bad), TypeError, bad);
  }
  assert.throws(() => parseInitialCluster('a=http://h:1,a=http://h:2'), /name "a" appears twice/);
  assert.throws(() => parseInitialCluster('a=http://h:1,b=http://h:1/'), /appears twice/);
});

test('staticCluster: the same IDs whatever the list order; another secret gives other IDs', () => {
  const list = parseInitialCluster('c=http://10.0.0.7:1,a=http://10.0.0.5:1,b=http://10.0.0.6:1');
  const one = staticCluster('secret-one-0123456789', list);
  const again = staticCluster('secret-one-0123456789', [...list].reverse());
  assert.deepEqual(again, one);
  assert.deepEqual(
    one.members.map((m) => [m.name, m.nodeNum]),
    [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ],
  );
  assert.equal(new Set(one.members.map((m) => m.memberId)).size, 3);
  for (const id of [one.clusterId, ...one.members.map((m) => m.memberId)]) assert.match(id, /^[1-9]\d*$/);
  const other = staticCluster('secret-two-0123456789', list);
  assert.notEqual(other.clusterId, one.clusterId);
  assert.notEqual(other.members[0]!.memberId, one.members[0]!.memberId);
  // The bootstrap entry is a conf change Raft reads plus the member record ChainFire keeps.
  const entry = JSON.parse(new TextDecoder().decode(bootstrapEntryData(one.members[1]!)));
  assert.deepEqual(entry, {
    type: 'addNode',
    nodeId: one.members[1]!.memberId,
    nodeNum: 2,
    name: 'b',
    peerUrls: ['http://10.0.0.6:1'],
    clientUrls: ['http://10.0.0.6:1'],
  });
});
