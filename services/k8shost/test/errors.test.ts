/**
 * k8shost's error answers through the REST API (no node agent needed): 400 VALIDATION_ERROR with
 * details.field, 404, 409 on duplicate names, 422 on Idempotency-Key reuse with another body, and
 * cluster IPs that are unique and released on delete. Pods stay Pending while no node is Ready.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { tempDir } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { openChainFire } from '../../chainfire/src/engine.js';
import { startK8sHostServer } from '../src/server.js';
import type { K8sHostServer } from '../src/server.js';
import { call } from './helpers.js';

let dir: TempDir;
let store: Store;
let server: K8sHostServer;
let url: string;

describe('k8shost errors', () => {
  before(async () => {
    dir = await tempDir('k8shost-errors-');
    store = await openChainFire({ dataDir: dir.path });
    server = await startK8sHostServer({
      store,
      auth: { mode: 'local' },
      logger: createLogger({ service: 'k8shost', level: 'silent' }),
      serviceCidr: '10.250.0.0/29',
    });
    url = server.url;
  });
  after(async () => {
    await server?.close();
    await store?.close();
    await dir?.cleanup();
  });

  test('400 VALIDATION_ERROR names the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ namespace: 'x', image: 'busybox:1' }, 'name'],
      [{ name: 'Bad_Name', image: 'busybox:1' }, 'name'],
      [{ name: 'ok' }, 'image'],
      [{ name: 'ok', image: 'b:1', restart_policy: 'Sometimes' }, 'restart_policy'],
      [{ name: 'ok', image: 'b:1', resources: { requests: { cpu: 'lots' } } }, 'resources.requests.cpu'],
      [{ name: 'ok', image: 'b:1', resources: { limits: { memory: '12XB' } } }, 'resources.limits.memory'],
      [
        { name: 'ok', image: 'b:1', resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } },
        'resources.requests.cpu',
      ],
      [{ name: 'ok', image: 'b:1', unknown_field: 1 }, 'unknown_field'],
    ];
    for (const [body, field] of cases) {
      const r = await call(url, 'POST', '/api/v1/pods', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'VALIDATION_ERROR');
      assert.equal(r.body.error.details.field, field, JSON.stringify(r.body.error));
    }
    const s = await call(url, 'POST', '/api/v1/services', { name: 'svc', port: 70000 });
    assert.equal(s.status, 400);
    assert.equal(s.body.error.details.field, 'port');
    const bad = await call(url, 'POST', '/api/v1/pods', '{not json');
    assert.equal(bad.status, 400);
  });

  test('404 for unknown pods, services, nodes and logs', async () => {
    for (const p of [
      '/api/v1/pods/default/nope',
      '/api/v1/pods/default/nope/logs',
      '/api/v1/services/default/nope',
      '/api/v1/nodes/nope',
    ]) {
      const r = await call(url, 'GET', p);
      assert.equal(r.status, 404, p);
      assert.equal(r.body.error.code, 'NOT_FOUND');
    }
    assert.equal((await call(url, 'DELETE', '/api/v1/pods/default/nope')).status, 404);
    assert.equal((await call(url, 'DELETE', '/api/v1/services/default/nope')).status, 404);
  });

  test('409 on a duplicate pod or service name; same name in another namespace is fine', async () => {
    const pod = { name: 'dup', namespace: 'a', image: 'busybox:1' };
    assert.equal((await call(url, 'POST', '/api/v1/pods', pod)).status, 201);
    const again = await call(url, 'POST', '/api/v1/pods', pod);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'CONFLICT');
    assert.equal((await call(url, 'POST', '/api/v1/pods', { ...pod, namespace: 'b' })).status, 201);
    const svc = { name: 'dup', namespace: 'a', port: 80 };
    assert.equal((await call(url, 'POST', '/api/v1/services', svc)).status, 201);
    assert.equal((await call(url, 'POST', '/api/v1/services', svc)).status, 409);
    // No node is registered: the pod waits, unscheduled.
    const got = await call(url, 'GET', '/api/v1/pods/a/dup');
    assert.equal(got.body.data.phase, 'Pending');
    assert.equal(got.body.data.node_name, null);
    assert.equal(got.body.data.reason, 'Unschedulable');
    for (const p of ['/api/v1/pods/a/dup', '/api/v1/pods/b/dup', '/api/v1/services/a/dup']) {
      assert.equal((await call(url, 'DELETE', p)).status, 200);
    }
  });

  test('422 when an Idempotency-Key is reused with another body; replay with the same one', async () => {
    const h = { 'Idempotency-Key': 'k8s-key-1' };
    const first = await call(url, 'POST', '/api/v1/pods', { name: 'idem', image: 'busybox:1' }, h);
    assert.equal(first.status, 201);
    const replay = await call(url, 'POST', '/api/v1/pods', { name: 'idem', image: 'busybox:1' }, h);
    assert.equal(replay.status, 201);
    assert.equal(replay.body.data.uid, first.body.data.uid);
    const other = await call(url, 'POST', '/api/v1/pods', { name: 'idem2', image: 'busybox:1' }, h);
    assert.equal(other.status, 422);
    assert.equal(other.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal((await call(url, 'DELETE', '/api/v1/pods/default/idem')).status, 200);
  });

  test('cluster IPs are unique, exhaust the CIDR, and are released on delete', async () => {
    // 10.250.0.0/29: .2 … .6 assignable (network, first host and broadcast reserved).
    const ips = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await call(url, 'POST', '/api/v1/services', {
        name: `s${i}`,
        port: 80,
        selector: { app: 'x' },
      });
      assert.equal(r.status, 201);
      ips.add(r.body.data.cluster_ip);
      assert.equal(r.body.data.type, 'ClusterIP');
    }
    assert.equal(ips.size, 5);
    const full = await call(url, 'POST', '/api/v1/services', { name: 'extra', port: 80 });
    assert.equal(full.status, 409);
    const freed = (await call(url, 'GET', '/api/v1/services/default/s3')).body.data.cluster_ip as string;
    assert.equal((await call(url, 'DELETE', '/api/v1/services/default/s3')).status, 200);
    const again = await call(url, 'POST', '/api/v1/services', { name: 'extra', port: 80 });
    assert.equal(again.status, 201);
    assert.equal(again.body.data.cluster_ip, freed);
    const list = await call(url, 'GET', '/api/v1/services?namespace=default');
    assert.equal(list.body.data.services.length, 5);
  });
});
