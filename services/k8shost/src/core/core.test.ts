import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCpu, formatMemory, parseCpu, parseMemory } from './quantity.js';
import { schedule } from './schedule.js';
import type { SchedNode } from './schedule.js';
import { pickClusterIp } from './cluster-ip.js';
import { parseCidr4 } from './ipv4.js';
import { selectEndpoints, selectorMatches } from './endpoints.js';
import { nodeView, podView } from './views.js';

describe('quantities', () => {
  test('cpu', () => {
    assert.equal(parseCpu('500m'), 500);
    assert.equal(parseCpu('2'), 2000);
    assert.equal(parseCpu('0.5'), 500);
    assert.equal(parseCpu('lots'), null);
    assert.equal(parseCpu('-1'), null);
    assert.equal(formatCpu(8000), '8');
    assert.equal(formatCpu(7500), '7.5');
    assert.equal(formatCpu(250), '250m');
  });
  test('memory', () => {
    assert.equal(parseMemory('128Mi'), 128 * 2 ** 20);
    assert.equal(parseMemory('1G'), 1e9);
    assert.equal(parseMemory('1000'), 1000);
    assert.equal(parseMemory('1.5Gi'), 1.5 * 2 ** 30);
    assert.equal(parseMemory('12XB'), null);
    assert.equal(formatMemory(16 * 2 ** 30), '16Gi');
    assert.equal(formatMemory(14 * 2 ** 30), '14Gi');
    assert.equal(formatMemory(512 * 2 ** 20), '512Mi');
  });
});

describe('schedule', () => {
  const nodes: SchedNode[] = [
    { name: 'a', ready: true, allocatableCpuMilli: 2000, allocatableMemoryBytes: 4e9 },
    { name: 'b', ready: true, allocatableCpuMilli: 4000, allocatableMemoryBytes: 1e9 },
    { name: 'c', ready: false, allocatableCpuMilli: 64000, allocatableMemoryBytes: 64e9 },
  ];
  test('picks the Ready node with the most free CPU that fits', () => {
    assert.deepEqual(schedule({ cpuMilli: 100, memoryBytes: 1e6 }, nodes, new Map()), { node: 'b' });
    // b has no memory for 2 GB: a.
    assert.deepEqual(schedule({ cpuMilli: 100, memoryBytes: 2e9 }, nodes, new Map()), { node: 'a' });
    // Usage counts.
    const used = new Map([['b', { cpuMilli: 3500, memoryBytes: 0 }]]);
    assert.deepEqual(schedule({ cpuMilli: 600, memoryBytes: 0 }, nodes, used), { node: 'a' });
  });
  test('never a NotReady node; reasons when nothing fits', () => {
    const r = schedule({ cpuMilli: 10_000, memoryBytes: 0 }, nodes, new Map());
    assert.equal(r.node, null);
    assert.match((r as { reason: string }).reason, /insufficient/);
    const none = schedule({ cpuMilli: 1, memoryBytes: 0 }, [nodes[2] as SchedNode], new Map());
    assert.equal(none.node, null);
    assert.match((none as { reason: string }).reason, /no Ready node/);
  });
  test('ties break by name', () => {
    const twins: SchedNode[] = [
      { name: 'y', ready: true, allocatableCpuMilli: 1000, allocatableMemoryBytes: 1e9 },
      { name: 'x', ready: true, allocatableCpuMilli: 1000, allocatableMemoryBytes: 1e9 },
    ];
    assert.deepEqual(schedule({ cpuMilli: 1, memoryBytes: 1 }, twins, new Map()), { node: 'x' });
  });
});

describe('cluster IPs', () => {
  const cidr = parseCidr4('10.96.0.0/29');
  test('lowest free, skipping network, first host and broadcast; null when full', () => {
    assert.ok(cidr);
    assert.equal(pickClusterIp(cidr, new Set()), '10.96.0.2');
    assert.equal(pickClusterIp(cidr, new Set(['10.96.0.2', '10.96.0.3'])), '10.96.0.4');
    assert.equal(pickClusterIp(cidr, new Set(), 3), '10.96.0.5');
    assert.equal(pickClusterIp(cidr, new Set(), 7), '10.96.0.4');
    const all = new Set(['10.96.0.2', '10.96.0.3', '10.96.0.4', '10.96.0.5', '10.96.0.6']);
    assert.equal(pickClusterIp(cidr, all), null);
  });
  test('CIDR parsing clears host bits and rejects junk', () => {
    assert.deepEqual(parseCidr4('10.96.3.7/16'), parseCidr4('10.96.0.0/16'));
    assert.equal(parseCidr4('10.96.0.0'), null);
    assert.equal(parseCidr4('300.1.1.1/8'), null);
  });
});

describe('endpoints', () => {
  const pod = (
    name: string,
    labels: Record<string, string>,
    phase = 'Running',
    ip: string | null = '10.244.1.2',
  ) => ({
    name,
    namespace: 'prod',
    labels,
    phase,
    podIp: ip,
    nodeName: 'n1',
  });
  test('Running pods with an IP matching every selector key, in the namespace', () => {
    const pods = [
      pod('b', { app: 'web', tier: 'fe' }, 'Running', '10.244.1.3'),
      pod('a', { app: 'web' }),
      pod('c', { app: 'db' }),
      pod('d', { app: 'web' }, 'Pending', null),
      pod('e', { app: 'web' }, 'Succeeded'),
      { ...pod('f', { app: 'web' }), namespace: 'other' },
    ];
    assert.deepEqual(
      selectEndpoints('prod', { app: 'web' }, pods).map((e) => e.pod),
      ['a', 'b'],
    );
    assert.deepEqual(selectEndpoints('prod', { app: 'web', tier: 'fe' }, pods), [
      { ip: '10.244.1.3', pod: 'b', node_name: 'n1' },
    ]);
    assert.deepEqual(selectEndpoints('prod', {}, pods), []);
    assert.equal(selectorMatches({ a: '1' }, { a: '2' }), false);
  });
});

describe('views', () => {
  const spec = {
    uid: 'u1',
    name: 'p',
    namespace: 'default',
    image: 'busybox:1',
    command: [],
    args: [],
    env: [],
    working_dir: null,
    labels: {},
    resources: { requests: {}, limits: {} },
    restart_policy: 'Always' as const,
    created_at: '2026-01-01T00:00:00Z',
  };
  test('phase comes from the agent status of the same uid only', () => {
    assert.equal(podView(spec, null, undefined).phase, 'Pending');
    assert.equal(podView(spec, null, undefined).reason, 'Unschedulable');
    const st = {
      uid: 'u1',
      phase: 'Running' as const,
      pod_ip: '10.244.1.9',
      reason: null,
      message: null,
      restart_count: 2,
      exit_code: null,
      container_state: 'running' as const,
      started_at: null,
      finished_at: null,
    };
    const v = podView(spec, 'n1', st);
    assert.equal(v.phase, 'Running');
    assert.equal(v.pod_ip, '10.244.1.9');
    assert.equal(v.restart_count, 2);
    assert.equal(podView(spec, 'n1', { ...st, uid: 'old' }).phase, 'Pending');
  });
  test('node status from heartbeat liveness', () => {
    const rec = {
      name: 'n',
      capacity_cpu: '2',
      capacity_memory: '4Gi',
      allocatable_cpu: '1.8',
      allocatable_memory: '3.7Gi',
      pod_cidr: '10.244.1.0/24',
      agent_url: null,
      registered_at: 'x',
    };
    assert.equal(nodeView(rec, true).status, 'Ready');
    assert.equal(nodeView(rec, false).status, 'NotReady');
  });
});
