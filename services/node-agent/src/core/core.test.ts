import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackRegistry, parseImageRef } from './image-ref.js';
import { afterExit, restartBackoffMs } from './restart.js';
import { nodeSubnet, nodeSubnetCount, pickPodIp, podNet } from './pod-ip.js';
import { renderNft } from './nft.js';
import { buildOciSpec, cpuShares, processArgs, processEnv } from './oci-spec.js';
import { allocatable, formatCpu, formatMemory } from './quantity.js';

describe('image references', () => {
  test('short names resolve against the default registry', () => {
    assert.deepEqual(parseImageRef('nginx:1.21', '127.0.0.1:5000'), {
      registry: '127.0.0.1:5000',
      repository: 'nginx',
      reference: '1.21',
    });
    assert.deepEqual(parseImageRef('team/app', 'r.example'), {
      registry: 'r.example',
      repository: 'team/app',
      reference: 'latest',
    });
    assert.deepEqual(parseImageRef('localhost:5000/a/b:v2', 'x'), {
      registry: 'localhost:5000',
      repository: 'a/b',
      reference: 'v2',
    });
    const d = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseImageRef(`quay.io/x@${d}`, 'x'), {
      registry: 'quay.io',
      repository: 'x',
      reference: d,
    });
  });
  test('junk is rejected', () => {
    for (const bad of ['', 'UPPER:1', 'a@sha256:zz', 'a:bad tag', 'a//b'])
      assert.equal(parseImageRef(bad, 'r'), null, bad);
  });
  test('loopback registries', () => {
    assert.equal(isLoopbackRegistry('127.0.0.1:5000'), true);
    assert.equal(isLoopbackRegistry('localhost'), true);
    assert.equal(isLoopbackRegistry('[::1]:5000'), true);
    assert.equal(isLoopbackRegistry('registry.example:443'), false);
  });
});

describe('restart policy (Kubernetes semantics)', () => {
  test('after an exit', () => {
    assert.deepEqual(afterExit('Never', 0), { action: 'finish', phase: 'Succeeded' });
    assert.deepEqual(afterExit('Never', 1), { action: 'finish', phase: 'Failed' });
    assert.deepEqual(afterExit('OnFailure', 0), { action: 'finish', phase: 'Succeeded' });
    assert.deepEqual(afterExit('OnFailure', 2), { action: 'restart' });
    assert.deepEqual(afterExit('Always', 0), { action: 'restart' });
    assert.deepEqual(afterExit('Always', 137), { action: 'restart' });
  });
  test('backoff doubles up to the cap', () => {
    assert.equal(restartBackoffMs(0), 1000);
    assert.equal(restartBackoffMs(1), 2000);
    assert.equal(restartBackoffMs(5), 32_000);
    assert.equal(restartBackoffMs(6), 60_000);
    assert.equal(restartBackoffMs(1000), 60_000);
    assert.equal(restartBackoffMs(2, 10_000, 300_000), 40_000);
  });
});

describe('pod addressing', () => {
  test('node subnets and pod IPs', () => {
    assert.equal(nodeSubnet('10.244.0.0/16', 1), '10.244.1.0/24');
    assert.equal(nodeSubnet('10.244.0.0/16', 256), null);
    assert.equal(nodeSubnetCount('10.244.0.0/16'), 256);
    const n = podNet('10.244.1.0/24');
    assert.ok(n);
    assert.equal(n.gateway, '10.244.1.1');
    assert.equal(n.hosts.length, 253);
    assert.equal(pickPodIp(n, new Set()), '10.244.1.2');
    assert.equal(pickPodIp(n, new Set(['10.244.1.2'])), '10.244.1.3');
    assert.equal(pickPodIp(n, new Set(n.hosts)), null);
    assert.equal(podNet('10.244.0.0/16'), null);
  });
  test('capacity formatting and allocatable', () => {
    assert.equal(formatCpu(2000), '2');
    assert.equal(formatMemory(16 * 2 ** 30), '16Gi');
    assert.deepEqual(allocatable(8, 16 * 2 ** 30), {
      cpuMilli: 7200,
      memoryBytes: 16 * 2 ** 30 - Math.floor(16 * 2 ** 30 * 0.05),
    });
    assert.equal(allocatable(1, 2 ** 30).memoryBytes, 2 ** 30 - 256 * 2 ** 20);
  });
});

describe('nftables rules', () => {
  const base = { table: 'photoncloud', bridge: 'pc0', podCidr: '10.244.1.0/24' };
  test('one endpoint → plain DNAT; several → numgen map; none → reset', () => {
    const s = renderNft({
      ...base,
      services: [
        { clusterIp: '10.96.0.5', port: 80, targetPort: 8080, protocol: 'TCP', endpoints: ['10.244.1.2'] },
        {
          clusterIp: '10.96.0.6',
          port: 53,
          targetPort: 5353,
          protocol: 'UDP',
          endpoints: ['10.244.1.2', '10.244.1.3'],
        },
        { clusterIp: '10.96.0.7', port: 80, targetPort: 80, protocol: 'TCP', endpoints: [] },
      ],
    });
    assert.match(s, /^table ip photoncloud\ndelete table ip photoncloud\n/);
    assert.match(s, /ip daddr 10\.96\.0\.5 tcp dport 80 dnat to 10\.244\.1\.2:8080/);
    assert.match(
      s,
      /ip daddr 10\.96\.0\.6 udp dport 53 dnat to numgen random mod 2 map \{ 0 : 10\.244\.1\.2, 1 : 10\.244\.1\.3 \} : 5353/,
    );
    assert.match(s, /ip daddr 10\.96\.0\.7 tcp dport 80 reject with tcp reset/);
    assert.doesNotMatch(s, /10\.96\.0\.7 tcp dport 80 dnat/);
    assert.match(s, /oifname "pc0" ct status dnat masquerade/);
  });
  test('refuses names that would inject syntax', () => {
    assert.throws(() => renderNft({ ...base, table: 'x; flush ruleset', services: [] }));
    assert.throws(() => renderNft({ ...base, bridge: 'pc0"', services: [] }));
  });
});

describe('OCI spec', () => {
  test('namespaces, netns path, no terminal, limits', () => {
    const s = buildOciSpec({
      args: ['/bin/sh'],
      env: ['A=1'],
      cwd: '/',
      hostname: 'p',
      netnsPath: '/var/run/netns/pcns-1',
      hostsFile: null,
      memoryLimit: 64 * 2 ** 20,
      cpuLimitMilli: 500,
      cpuRequestMilli: 100,
      cgroupsPath: '/photoncloud/x',
    }) as {
      process: { terminal: boolean };
      linux: {
        namespaces: Array<{ type: string; path?: string }>;
        resources: { memory: { limit: number }; cpu: { quota: number; period: number; shares: number } };
      };
    };
    assert.equal(s.process.terminal, false);
    assert.deepEqual(s.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
    assert.equal(s.linux.namespaces.find((n) => n.type === 'network')?.path, '/var/run/netns/pcns-1');
    assert.equal(s.linux.resources.memory.limit, 64 * 2 ** 20);
    assert.equal(s.linux.resources.cpu.quota, 50_000);
    assert.equal(s.linux.resources.cpu.shares, cpuShares(100));
    assert.equal(cpuShares(0), 2);
  });
  test('command/args vs image entrypoint/cmd (Kubernetes rules)', () => {
    const img = { Entrypoint: ['/entry'], Cmd: ['--default'] };
    assert.deepEqual(processArgs([], [], img), ['/entry', '--default']);
    assert.deepEqual(processArgs([], ['x'], img), ['/entry', 'x']);
    assert.deepEqual(processArgs(['/bin/sh'], [], img), ['/bin/sh']);
    assert.deepEqual(processArgs(['/bin/sh'], ['-c', 'true'], img), ['/bin/sh', '-c', 'true']);
    assert.equal(processArgs([], [], {}), null);
  });
  test('env: image, then pod overrides', () => {
    const env = processEnv({ Env: ['PATH=/bin', 'A=image'] }, [{ name: 'A', value: 'pod' }], 'h');
    assert.ok(env.includes('PATH=/bin'));
    assert.ok(env.includes('A=pod'));
    assert.ok(env.includes('HOSTNAME=h'));
  });
});
