/**
 * End to end through the REST API: a busybox httpd pod pulled from a local registry runs on runc,
 * reaches Running with a pod IP, a ClusterIP service selecting it is reachable from the host through
 * the nftables dataplane, its log is readable, and deleting pod and service removes the container,
 * bundle, netns, veth and rules. Also: phases for commands exiting 0/1 with restartPolicy Never, and a
 * node that goes NotReady when its agent stops.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { run, waitFor } from '@photoncloud/test-utils';
import { call, startCluster } from './helpers.js';
import type { Cluster } from './helpers.js';
import { PAGE } from '../../node-agent/test/oci-fixture.js';

let c: Cluster;

async function podWhen(
  ns: string,
  name: string,
  ok: (p: { phase: string; pod_ip: string | null }) => boolean,
  timeoutMs = 30_000,
) {
  return waitFor(
    async () => {
      const r = await call(c.url, 'GET', `/api/v1/pods/${ns}/${name}`);
      return r.status === 200 && ok(r.body.data) ? r.body.data : null;
    },
    { timeoutMs, intervalMs: 100, what: `pod ${ns}/${name}` },
  );
}

describe('k8shost pods on runc with a ClusterIP service', () => {
  before(async () => {
    c = await startCluster({ octet: 201 });
  });
  after(async () => {
    await c?.close();
  });

  test('the node registers with real capacity and is Ready', async () => {
    const r = await call(c.url, 'GET', '/api/v1/nodes');
    assert.equal(r.status, 200);
    const n = r.body.data.nodes.find((x: { name: string }) => x.name === c.agent.nodeName);
    assert.ok(n, 'node listed');
    assert.equal(n.status, 'Ready');
    const { cpus, totalmem } = await import('node:os');
    assert.equal(n.capacity_cpu, String(cpus().length));
    assert.match(n.capacity_memory, /^\d+(\.\d)?(Gi|Mi)$/);
    assert.ok(Number(n.allocatable_cpu) < cpus().length);
    assert.ok(totalmem() > 0);
    assert.match(n.pod_cidr, /^10\.201\.1\.0\/24$/);
  });

  test('httpd pod → Running with pod_ip → service via cluster IP → logs → delete cleans up', async () => {
    const created = await call(c.url, 'POST', '/api/v1/pods', {
      name: 'web',
      namespace: 'demo',
      image: 'busybox-http:1',
      command: ['/bin/sh'],
      args: ['-c', 'echo starting web; echo to-stderr >&2; exec httpd -f -v -p 8080 -h /www'],
      labels: { app: 'web' },
      env: [{ name: 'GREETING', value: 'hi' }],
      resources: { requests: { cpu: '100m', memory: '16Mi' }, limits: { cpu: '500m', memory: '64Mi' } },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.data.phase, 'Pending');
    const pod = await podWhen('demo', 'web', (p) => p.phase === 'Running' && p.pod_ip !== null);
    assert.match(pod.pod_ip, /^10\.201\.1\.\d+$/);
    assert.equal(pod.node_name, c.agent.nodeName);
    const uid: string = pod.uid;
    const podDir = `${c.dataDir}/node-agent/pods/pods/${uid}`;
    assert.ok(existsSync(`${podDir}/bundle/config.json`));
    const ns = await run('ip', ['netns', 'list']);
    assert.match(ns.stdout, new RegExp(`pcns-${uid}`));

    // Reach the pod directly on its IP first (the bridge).
    const direct = await waitFor(
      async () => {
        const r = await fetch(`http://${pod.pod_ip}:8080/index.html`, { signal: AbortSignal.timeout(2000) });
        return r.ok ? r.text() : null;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'pod IP reachable' },
    );
    assert.equal(direct, PAGE);

    const svc = await call(c.url, 'POST', '/api/v1/services', {
      name: 'web-svc',
      namespace: 'demo',
      service_type: 'ClusterIP',
      port: 80,
      target_port: 8080,
      selector: { app: 'web' },
    });
    assert.equal(svc.status, 201);
    const cip: string = svc.body.data.cluster_ip;
    assert.match(cip, /^10\.202\.\d+\.\d+$/);
    assert.deepEqual(svc.body.data.ports, [{ port: 80, target_port: 8080, protocol: 'TCP' }]);
    // Endpoints follow the pod.
    await waitFor(
      async () => {
        const r = await call(c.url, 'GET', '/api/v1/services/demo/web-svc');
        return r.body.data.endpoints.length === 1 && r.body.data.endpoints[0].ip === pod.pod_ip;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'endpoints' },
    );
    const viaService = await waitFor(
      async () => {
        const r = await fetch(`http://${cip}:80/index.html`, { signal: AbortSignal.timeout(2000) });
        return r.ok ? r.text() : null;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'cluster IP reachable' },
    );
    assert.equal(viaService, PAGE);
    // With curl too, as an operator would.
    const curl = await run('curl', ['-s', '--max-time', '5', `http://${cip}/index.html`]);
    assert.equal(curl.stdout, PAGE);
    // And from inside a pod's network namespace (pod → ClusterIP → the same pod: hairpin).
    const inPod = await run('ip', [
      'netns',
      'exec',
      `pcns-${uid}`,
      'curl',
      '-s',
      '--max-time',
      '5',
      `http://${cip}/index.html`,
    ]);
    assert.equal(inPod.stdout, PAGE);
    const rules = await run('nft', ['list', 'table', 'ip', c.table]);
    assert.match(
      rules.stdout,
      new RegExp(
        `ip daddr ${cip.replaceAll('.', '\\.')} tcp dport 80 dnat to ${pod.pod_ip.replaceAll('.', '\\.')}:8080`,
      ),
    );

    const logs = await waitFor(
      async () => {
        const r = await call(c.url, 'GET', '/api/v1/pods/demo/web/logs');
        return r.status === 200 && r.body.data.logs.includes('response:200') ? r.body.data.logs : null;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'logs' },
    );
    assert.match(logs, /starting web/);
    assert.match(logs, /to-stderr/);

    assert.equal((await call(c.url, 'DELETE', '/api/v1/pods/demo/web')).status, 200);
    // Endpoints follow the pod away: the service is left with none, and its port now refuses at once.
    await waitFor(
      async () =>
        (await call(c.url, 'GET', '/api/v1/services/demo/web-svc')).body.data.endpoints.length === 0,
      { timeoutMs: 10_000, intervalMs: 100, what: 'endpoints emptied' },
    );
    await waitFor(
      async () =>
        (await run('nft', ['list', 'table', 'ip', c.table])).stdout.includes(
          `ip daddr ${cip} tcp dport 80 reject`,
        ),
      { timeoutMs: 10_000, intervalMs: 100, what: 'reject rule' },
    );
    assert.equal((await call(c.url, 'DELETE', '/api/v1/services/demo/web-svc')).status, 200);
    await waitFor(async () => !(await run('nft', ['list', 'table', 'ip', c.table])).stdout.includes(cip), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'service rules removed',
    });
    // Gone (errors.test.ts shows a released cluster IP being handed out again).
    assert.equal((await call(c.url, 'GET', '/api/v1/services/demo/web-svc')).status, 404);

    assert.equal((await call(c.url, 'GET', '/api/v1/pods/demo/web')).status, 404);
    await waitFor(() => !existsSync(podDir), { timeoutMs: 15_000, intervalMs: 100, what: 'bundle removed' });
    const ns2 = await run('ip', ['netns', 'list']);
    assert.doesNotMatch(ns2.stdout, new RegExp(`pcns-${uid}`));
    const links = await run('ip', ['link', 'show']);
    assert.doesNotMatch(links.stdout, new RegExp(`pcv${uid.slice(0, 12)}`));
    const list = await run('/usr/sbin/runc', ['--root', `${c.dataDir}/node-agent/pods/runc`, 'list', '-q']);
    assert.equal(list.stdout.trim(), '');
    const stillThere = await fetch(`http://${cip}/`, { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
    assert.equal(stillThere, false);
  });

  test('a service spreads connections over several endpoints (numgen)', async () => {
    for (const n of ['lb-a', 'lb-b']) {
      const r = await call(c.url, 'POST', '/api/v1/pods', {
        name: n,
        image: 'busybox-http:1',
        command: [
          '/bin/sh',
          '-c',
          'mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www',
        ],
        labels: { app: 'lb' },
      });
      assert.equal(r.status, 201);
    }
    await podWhen('default', 'lb-a', (p) => p.phase === 'Running');
    await podWhen('default', 'lb-b', (p) => p.phase === 'Running');
    const svc = await call(c.url, 'POST', '/api/v1/services', {
      name: 'lb',
      port: 8000,
      target_port: 8080,
      selector: { app: 'lb' },
    });
    const cip: string = svc.body.data.cluster_ip;
    await waitFor(
      async () => (await call(c.url, 'GET', '/api/v1/services/default/lb')).body.data.endpoints.length === 2,
      { timeoutMs: 10_000, intervalMs: 100, what: 'two endpoints' },
    );
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const r = await fetch(`http://${cip}:8000/index.html`, { signal: AbortSignal.timeout(2000) });
        if (r.ok) seen.add((await r.text()).trim());
        return seen.size === 2;
      },
      { timeoutMs: 15_000, intervalMs: 20, what: 'both endpoints answered' },
    );
    assert.deepEqual([...seen].sort(), ['lb-a', 'lb-b']);
    assert.equal((await call(c.url, 'DELETE', '/api/v1/services/default/lb')).status, 200);
    for (const n of ['lb-a', 'lb-b'])
      assert.equal((await call(c.url, 'DELETE', `/api/v1/pods/default/${n}`)).status, 200);
  });

  test('restartPolicy Never: exit 0 → Succeeded, exit 1 → Failed; OnFailure restarts', async () => {
    for (const [name, code] of [
      ['ok-job', 0],
      ['bad-job', 1],
    ] as const) {
      const r = await call(c.url, 'POST', '/api/v1/pods', {
        name,
        image: 'busybox-http:1',
        command: ['/bin/sh', '-c', `echo job ${name}; exit ${code}`],
        restart_policy: 'Never',
      });
      assert.equal(r.status, 201);
    }
    const ok = await podWhen('default', 'ok-job', (p) => p.phase === 'Succeeded');
    assert.equal(ok.exit_code, 0);
    assert.equal(ok.restart_count, 0);
    const bad = await podWhen('default', 'bad-job', (p) => p.phase === 'Failed');
    assert.equal(bad.exit_code, 1);
    const logs = await call(c.url, 'GET', '/api/v1/pods/default/bad-job/logs');
    assert.equal(logs.body.data.logs, 'job bad-job\n');

    await call(c.url, 'POST', '/api/v1/pods', {
      name: 'flaky',
      image: 'busybox-http:1',
      command: ['/bin/sh', '-c', 'echo run; exit 3'],
      restart_policy: 'OnFailure',
    });
    const flaky = await waitFor(
      async () => {
        const r = await call(c.url, 'GET', '/api/v1/pods/default/flaky');
        return r.body.data.restart_count >= 2 ? r.body.data : null;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'restarts' },
    );
    assert.equal(flaky.phase, 'Running');
    assert.equal(flaky.exit_code, 3);
    for (const n of ['ok-job', 'bad-job', 'flaky']) {
      assert.equal((await call(c.url, 'DELETE', `/api/v1/pods/default/${n}`)).status, 200);
    }
  });

  test('a pod whose image does not exist stays Pending with ErrImagePull', async () => {
    await call(c.url, 'POST', '/api/v1/pods', { name: 'noimg', image: 'does-not-exist:9' });
    const p = await podWhen(
      'default',
      'noimg',
      (x) =>
        (x as { reason?: string }).reason === 'ErrImagePull' ||
        (x as { reason?: string }).reason === 'ImagePullBackOff',
    );
    assert.equal(p.phase, 'Pending');
    assert.equal((await call(c.url, 'DELETE', '/api/v1/pods/default/noimg')).status, 200);
  });

  test('the node becomes NotReady when its agent stops', async () => {
    await c.stopAgent();
    const r = await call(c.url, 'GET', `/api/v1/nodes/${c.agent.nodeName}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.data.status, 'NotReady');
  });
});
