/**
 * The REST API guide's §5 (k8shost) curl examples and "Example 2: Deploy Kubernetes Pod with Service",
 * run verbatim with the real `curl` (and `jq` where the guide pipes into it) against k8shost on a free port
 * with a node agent on this machine; only `http://localhost:8085` is rewritten. Images `nginx:1.21` come
 * from a local docker-registry (busybox whose default command serves a page with httpd on :80, with an
 * `nginx` shim so the guide's `nginx -g "daemon off;"` command runs). Pods reach Running.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '@photoncloud/test-utils';
import { PAGE } from '../../node-agent/test/oci-fixture.js';
import { call, startCluster } from './helpers.js';
import type { Cluster } from './helpers.js';

const exec = promisify(execFile);

let c: Cluster;

/** Run a shell snippet from the guide with the port rewritten; returns stdout. */
async function sh(snippet: string): Promise<string> {
  const cmd = snippet.replaceAll('http://localhost:8085', c.url);
  assert.notEqual(cmd, snippet, 'the snippet must address k8shost');
  const { stdout } = await exec('bash', ['-c', `set -euo pipefail\n${cmd}`], { timeout: 30_000 });
  return stdout;
}

/** Run one curl command from the guide, adding only `-w` to learn the status; parse the JSON body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically.
async function curl(snippet: string): Promise<{ status: number; body: any }> {
  const out = await sh(`${snippet} -s -w '\\n%{http_code}'`);
  const nl = out.lastIndexOf('\n');
  return { status: Number(out.slice(nl + 1)), body: JSON.parse(out.slice(0, nl)) };
}

async function running(ns: string, name: string): Promise<{ pod_ip: string; phase: string }> {
  return waitFor(
    async () => {
      const r = await call(c.url, 'GET', `/api/v1/pods/${ns}/${name}`);
      return r.status === 200 && r.body.data.phase === 'Running' && r.body.data.pod_ip !== null
        ? r.body.data
        : null;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `${ns}/${name} Running` },
  );
}

describe('guide §5 k8shost curl examples', () => {
  before(async () => {
    c = await startCluster({ octet: 205 });
  });
  after(async () => {
    await c?.close();
  });

  test('Health Check', async () => {
    const { status, body } = await curl('curl http://localhost:8085/health');
    assert.equal(status, 200);
    assert.equal(body.data.status, 'healthy');
    assert.equal(body.data.service, 'k8shost');
  });

  test('Create Pod (nginx:1.21 from the local registry) → Running; List Pods; Delete Pod', async () => {
    const created = await curl(`curl -X POST http://localhost:8085/api/v1/pods \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "nginx-pod",
    "namespace": "production",
    "image": "nginx:1.21",
    "command": ["/bin/sh"],
    "args": ["-c", "nginx -g \\"daemon off;\\""]
  }'`);
    assert.equal(created.status, 201);
    assert.equal(created.body.data.name, 'nginx-pod');
    assert.equal(created.body.data.namespace, 'production');
    const pod = await running('production', 'nginx-pod');
    // The container really serves: the `nginx` shim runs httpd on :80.
    const page = await waitFor(
      async () => {
        const r = await fetch(`http://${pod.pod_ip}/`, { signal: AbortSignal.timeout(2000) });
        return r.ok ? r.text() : null;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'nginx-pod serving' },
    );
    assert.equal(page, PAGE);

    const all = await curl('curl http://localhost:8085/api/v1/pods');
    assert.equal(all.status, 200);
    const listed = all.body.data.pods.find((p: { name: string }) => p.name === 'nginx-pod');
    assert.deepEqual(
      {
        name: listed.name,
        namespace: listed.namespace,
        phase: listed.phase,
        pod_ip: listed.pod_ip,
        node_name: listed.node_name,
      },
      {
        name: 'nginx-pod',
        namespace: 'production',
        phase: 'Running',
        pod_ip: pod.pod_ip,
        node_name: c.agent.nodeName,
      },
    );
    assert.equal(typeof all.body.meta.request_id, 'string');
    const inNs = await curl('curl "http://localhost:8085/api/v1/pods?namespace=production"');
    assert.equal(inNs.status, 200);
    assert.ok(inNs.body.data.pods.every((p: { namespace: string }) => p.namespace === 'production'));
    assert.equal(inNs.body.data.pods.length, 1);

    const del = await curl('curl -X DELETE http://localhost:8085/api/v1/pods/production/nginx-pod');
    assert.equal(del.status, 200);
    assert.equal((await call(c.url, 'GET', '/api/v1/pods/production/nginx-pod')).status, 404);
  });

  test('Create Service; List Services; Delete Service', async () => {
    const created = await curl(`curl -X POST http://localhost:8085/api/v1/services \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "app-service",
    "namespace": "production",
    "service_type": "ClusterIP",
    "port": 80,
    "target_port": 8080,
    "selector": {"app": "nginx"}
  }'`);
    assert.equal(created.status, 201);
    assert.equal(created.body.data.type, 'ClusterIP');
    assert.match(created.body.data.cluster_ip, /^10\.206\.\d+\.\d+$/);
    const list = await curl('curl "http://localhost:8085/api/v1/services?namespace=production"');
    assert.equal(list.status, 200);
    const s = list.body.data.services.find((x: { name: string }) => x.name === 'app-service');
    assert.deepEqual(
      { name: s.name, namespace: s.namespace, type: s.type, cluster_ip: s.cluster_ip, ports: s.ports },
      {
        name: 'app-service',
        namespace: 'production',
        type: 'ClusterIP',
        cluster_ip: created.body.data.cluster_ip,
        ports: [{ port: 80, target_port: 8080, protocol: 'TCP' }],
      },
    );
    const del = await curl('curl -X DELETE http://localhost:8085/api/v1/services/production/app-service');
    assert.equal(del.status, 200);
  });

  test('List Nodes', async () => {
    const { status, body } = await curl('curl http://localhost:8085/api/v1/nodes');
    assert.equal(status, 200);
    const n = body.data.nodes.find((x: { name: string }) => x.name === c.agent.nodeName);
    assert.equal(n.status, 'Ready');
    for (const f of ['capacity_cpu', 'capacity_memory', 'allocatable_cpu', 'allocatable_memory']) {
      assert.equal(typeof n[f], 'string', f);
    }
    assert.match(n.capacity_memory, /Gi|Mi$/);
  });

  test('Example 2: Deploy Kubernetes Pod with Service', async () => {
    const out1 = await sh(`# 1. Create Pod
curl -X POST http://localhost:8085/api/v1/pods \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "nginx-app",
    "namespace": "production",
    "image": "nginx:1.21"
  }'`);
    assert.equal(JSON.parse(out1).success, true);
    const out2 = await sh(`# 2. Create Service
curl -X POST http://localhost:8085/api/v1/services \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "nginx-service",
    "namespace": "production",
    "service_type": "ClusterIP",
    "port": 80,
    "target_port": 80,
    "selector": {"app": "nginx"}
  }'`);
    const svc = JSON.parse(out2);
    assert.equal(svc.success, true);
    await running('production', 'nginx-app');
    const out3 = await sh(`# 3. Verify Pod Status
curl "http://localhost:8085/api/v1/pods?namespace=production" | jq '.data.pods[] | select(.name=="nginx-app")'`);
    const pod = JSON.parse(out3);
    assert.equal(pod.name, 'nginx-app');
    assert.equal(pod.phase, 'Running');
    assert.match(pod.pod_ip, /^10\.205\.1\.\d+$/);
    // The guide's pod has no labels, so the service (selector app=nginx) has no endpoints: a connection
    // to it is refused at once rather than hanging.
    const refused = await fetch(`http://${svc.data.cluster_ip}/`, { signal: AbortSignal.timeout(3000) }).then(
      () => 'answered',
      (e: Error) => (e.cause as { code?: string } | undefined)?.code ?? e.name,
    );
    assert.equal(refused, 'ECONNREFUSED');
    assert.equal((await call(c.url, 'DELETE', '/api/v1/services/production/nginx-service')).status, 200);
    assert.equal((await call(c.url, 'DELETE', '/api/v1/pods/production/nginx-app')).status, 200);
  });
});
