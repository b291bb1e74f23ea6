/**
 * Bad input and illegal actions answer the documented envelope (400/404/409/422, 503 for a seam that does
 * not answer), never a 500; another project's VM is a 404.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Vm } from '@photoncloud/plasmavmc-api';
import { freePort, waitFor } from '@photoncloud/test-utils';
import { call, startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const exec = promisify(execFile);
const scope = { org_id: 'org-1', project_id: 'proj-1' };
const q = '?org_id=org-1&project_id=proj-1';

let h: Harness;

async function waitState(id: string, state: Vm['state']): Promise<void> {
  await waitFor(async () => (await h.client.getVm(id, scope)).state === state, {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: `${id} ${state}`,
  });
}

describe('PlasmaVMC errors', () => {
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test('400 VALIDATION_ERROR names the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ org_id: 'org-1', project_id: 'proj-1', vcpus: 1 }, 'name'],
      [{ name: 'a', org_id: 'org-1', project_id: 'proj-1', vcpus: 0 }, 'vcpus'],
      [{ name: 'a', org_id: 'org-1', project_id: 'proj-1', memory_mib: 1 }, 'memory_mib'],
      [{ name: 'a', org_id: 'org-1', project_id: 'proj-1', hypervisor: 'xen' }, 'hypervisor'],
      [{ name: 'a', project_id: 'proj-1' }, 'org_id'],
      [{ name: 'a', org_id: 'org-1' }, 'project_id'],
      [{ name: 'a', org_id: 'org-1', project_id: 'proj-1', disk_size_gb: -1 }, 'disk_size_gb'],
    ];
    for (const [body, field] of cases) {
      const r = await call(h.url, 'POST', '/api/v1/vms', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'VALIDATION_ERROR');
      assert.equal(r.body.error.details.field, field, JSON.stringify(r.body.error));
    }
    const bad = await call(h.url, 'POST', '/api/v1/vms', '{"name": ');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'BAD_REQUEST');
    const stop = await call(h.url, 'POST', '/api/v1/vms/vm-x/stop', { force: 'yes' });
    assert.equal(stop.status, 400);
    assert.equal(stop.body.error.details.field, 'force');
  });

  test('404 for unknown VMs and images, and for another project’s VM', async () => {
    const missing = await call(h.url, 'GET', `/api/v1/vms/vm-0000000000000000${q}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
    const noImage = await call(h.url, 'POST', '/api/v1/vms', { name: 'a', ...scope, image_id: 'nope' });
    assert.equal(noImage.status, 404);
    assert.equal(noImage.body.error.details.field, 'image_id');

    const vm = await h.client.createVm({ name: 'mine', ...scope, memory_mib: 64, start: false });
    const other = '?org_id=org-1&project_id=proj-2';
    for (const [method, path] of [
      ['GET', `/api/v1/vms/${vm.id}${other}`],
      ['POST', `/api/v1/vms/${vm.id}/start${other}`],
      ['POST', `/api/v1/vms/${vm.id}/reboot${other}`],
      ['DELETE', `/api/v1/vms/${vm.id}${other}`],
      ['GET', `/api/v1/vms/${vm.id}/console${other}`],
    ] as const) {
      const r = await call(h.url, method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
    }
    const list = await call(h.url, 'GET', `/api/v1/vms${other}`);
    assert.deepEqual(list.body.data.vms, []);
    assert.equal((await call(h.url, 'GET', `/api/v1/vms${q}`)).body.data.vms.length >= 1, true);
  });

  test('409 for actions the state does not allow', async () => {
    const vm = await h.client.createVm({ name: 'stopped', ...scope, memory_mib: 64, start: false });
    await waitState(vm.id, 'Stopped');
    const reboot = await call(h.url, 'POST', `/api/v1/vms/${vm.id}/reboot${q}`);
    assert.equal(reboot.status, 409);
    assert.equal(reboot.body.error.code, 'CONFLICT');
    assert.equal(reboot.body.error.details.state, 'Stopped');
    assert.equal((await call(h.url, 'GET', `/api/v1/vms/${vm.id}/console${q}`)).status, 409);
    // Stopping a stopped VM changes nothing.
    assert.equal((await call(h.url, 'POST', `/api/v1/vms/${vm.id}/stop${q}`, { force: true })).status, 202);
    // …with or without a body (`curl -X POST …/stop`).
    assert.equal((await call(h.url, 'POST', `/api/v1/vms/${vm.id}/stop${q}`)).status, 202);

    // While the agent is away a deletion stays in flight: every further action is refused.
    await h.agent?.close();
    const del = await call(h.url, 'DELETE', `/api/v1/vms/${vm.id}${q}`);
    assert.equal(del.status, 202);
    assert.equal(del.body.data.state, 'Deleting');
    for (const [method, path] of [
      ['POST', `/api/v1/vms/${vm.id}/start${q}`],
      ['POST', `/api/v1/vms/${vm.id}/stop${q}`],
      ['POST', `/api/v1/vms/${vm.id}/reboot${q}`],
      ['DELETE', `/api/v1/vms/${vm.id}${q}`],
    ] as const) {
      const r = await call(h.url, method, path, method === 'POST' && path.includes('stop') ? {} : undefined);
      assert.equal(r.status, 409, `${method} ${path}`);
    }
    // The agent finishes the deletion when it is back.
    await h.startAgent();
    await waitFor(async () => (await call(h.url, 'GET', `/api/v1/vms/${vm.id}${q}`)).status === 404, {
      timeoutMs: 30_000,
    });
  });

  test('Idempotency-Key: a replay returns the first VM, a different body is 422', async () => {
    const body = { name: 'idem', ...scope, memory_mib: 64, start: false };
    const headers = { 'idempotency-key': 'create-idem-1' };
    const a = await call(h.url, 'POST', '/api/v1/vms', body, headers);
    const b = await call(h.url, 'POST', '/api/v1/vms', body, headers);
    assert.equal(a.status, 201);
    assert.equal(b.body.data.id, a.body.data.id);
    const c = await call(h.url, 'POST', '/api/v1/vms', { ...body, name: 'other' }, headers);
    assert.equal(c.status, 422);
    assert.equal(c.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('image errors', async () => {
    const raw = await h.client.createImage({ name: 'disk', ...scope, format: 'raw' });
    const pending = await call(h.url, 'POST', '/api/v1/vms', { name: 'a', ...scope, image_id: raw.id });
    assert.equal(pending.status, 409);
    const put = (id: string, part: string, data: Uint8Array) =>
      call(h.url, 'PUT', `/api/v1/images/${id}/${part}${q}`, Buffer.from(data).toString('latin1'), {
        'content-type': 'application/octet-stream',
      });
    const wrongPart = await put(raw.id, 'kernel', new Uint8Array(10));
    assert.equal(wrongPart.status, 400);
    assert.equal(wrongPart.body.error.details.field, 'part');
    const badPart = await call(h.url, 'PUT', `/api/v1/images/${raw.id}/bogus${q}`, 'x', {
      'content-type': 'application/octet-stream',
    });
    assert.equal(badPart.status, 400);
    assert.equal((await put(raw.id, 'disk', new Uint8Array(0))).status, 400);
    assert.equal((await put(raw.id, 'disk', new Uint8Array(2 * 1024 * 1024))).status, 200);
    assert.equal((await put(raw.id, 'disk', new Uint8Array(10))).status, 409);

    // A real qcow2 upload: its virtual size comes from qemu-img, and a VM disk may not be smaller.
    const good = await h.client.createImage({ name: 'good-q', ...scope, format: 'qcow2' });
    const qfile = join(h.dir.path, 'upload.qcow2');
    await exec('qemu-img', ['create', '-q', '-f', 'qcow2', qfile, '3G']);
    const up = await h.client.uploadImagePart(good.id, 'disk', await readFile(qfile), scope);
    assert.equal(up.status, 'available');
    assert.equal(up.virtual_size_bytes, 3 * 1024 ** 3);
    const small = await call(h.url, 'POST', '/api/v1/vms', {
      name: 's',
      ...scope,
      image_id: good.id,
      disk_size_gb: 2,
    });
    assert.equal(small.status, 400);
    assert.equal(small.body.error.details.field, 'disk_size_gb');
    // A qcow2 naming a backing file would expose host files: refused.
    const backed = await h.client.createImage({ name: 'backed', ...scope, format: 'qcow2' });
    const bfile = join(h.dir.path, 'backed.qcow2');
    await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', qfile, '-F', 'qcow2', bfile]);
    const refusedBacked = await call(
      h.url,
      'PUT',
      `/api/v1/images/${backed.id}/disk${q}`,
      await readFile(bfile),
      {
        'content-type': 'application/octet-stream',
      },
    );
    assert.equal(refusedBacked.status, 400);
    const qcow = await h.client.createImage({ name: 'q', ...scope, format: 'qcow2' });
    const notQcow = await put(qcow.id, 'disk', new Uint8Array(4096).fill(1));
    assert.equal(notQcow.status, 400);
    assert.equal(notQcow.body.error.details.field, 'body');

    const cmdline = await call(h.url, 'POST', '/api/v1/images', {
      name: 'x',
      ...scope,
      format: 'raw',
      cmdline: 'quiet',
    });
    assert.equal(cmdline.status, 400);
    assert.equal(cmdline.body.error.details.field, 'cmdline');

    const vm = await h.client.createVm({
      name: 'uses-disk',
      ...scope,
      image_id: raw.id,
      memory_mib: 64,
      start: false,
    });
    assert.equal(vm.disk_size_gb, 1);
    const inUse = await call(h.url, 'DELETE', `/api/v1/images/${raw.id}${q}`);
    assert.equal(inUse.status, 409);
    assert.equal((await call(h.url, 'GET', `/api/v1/images/img-0000${q}`)).status, 404);
    assert.equal((await call(h.url, 'GET', `/api/v1/images/${raw.id}?org_id=org-2`)).status, 404);
  });
});

describe('PlasmaVMC seams that do not answer', () => {
  let h2: Harness;
  before(async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    h2 = await startHarness({ agent: false, serviceUrls: { prismnet: dead, creditservice: dead } });
  });
  after(async () => {
    await h2?.close();
  });

  test('503 SERVICE_UNAVAILABLE, never 500', async () => {
    const billing = await call(h2.url, 'POST', '/api/v1/vms', { name: 'a', ...scope });
    assert.equal(billing.status, 503);
    assert.equal(billing.body.error.code, 'SERVICE_UNAVAILABLE');
    assert.equal(billing.body.error.details.service, 'CreditService');
    const list = await call(h2.url, 'GET', `/api/v1/vms${q}`);
    assert.deepEqual(list.body.data.vms, [], 'nothing was created');
  });
});
