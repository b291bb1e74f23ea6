/**
 * A real guest end to end: a Debian kernel + a busybox initramfs built by the test are registered as an
 * image, a VM is created through the API and the node agent's QEMU driver boots it (TCG here, KVM where the
 * host has it). The guest's serial output is read through the console WebSocket; then the VM is rebooted
 * (marker seen again), stopped through ACPI (the guest's init powers off on the power button) and deleted
 * (QEMU gone, runtime directory gone, records gone).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { waitFor } from '@photoncloud/test-utils';
import { VM_KEYS } from '@photoncloud/plasmavmc-api';
import type { Vm, VmStatusRecord } from '@photoncloud/plasmavmc-api';
import { bytes, text } from '@photoncloud/store';
import { WebSocket } from 'ws';
import { kvmUsable, vmPaths } from '../../node-agent/src/vm/qemu.js';
import { buildInitramfs, GUEST_MARKER, GUEST_POWERDOWN_MARKER, hostKernel } from './initramfs.js';
import { call, qemuPids, startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const scope = { org_id: 'org-1', project_id: 'proj-1' };
const q = `?org_id=${scope.org_id}&project_id=${scope.project_id}`;

let h: Harness;

async function status(id: string): Promise<VmStatusRecord | undefined> {
  const kv = (await h.store.range({ key: bytes(VM_KEYS.status(id)) })).kvs[0];
  return kv === undefined ? undefined : (JSON.parse(text(kv.value)) as VmStatusRecord);
}

async function waitState(id: string, state: Vm['state'], timeoutMs = 60_000): Promise<Vm> {
  return waitFor(
    async () => {
      const vm = await h.client.getVm(id, scope);
      return vm.state === state ? vm : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `VM ${id} ${state}` },
  );
}

/** A console session collecting everything the guest prints. */
async function openConsole(id: string): Promise<{ output: () => string; ws: WebSocket }> {
  const access = await h.client.console(id, scope);
  assert.match(access.url, /^ws:\/\/127\.0\.0\.1:\d+\/api\/v1\/vms\/vm-[0-9a-f]+\/console\/ws\?token=/);
  assert.ok(Date.parse(access.expires_at) > Date.now());
  const ws = new WebSocket(access.url);
  let out = '';
  ws.on('message', (d: Buffer) => {
    out += d.toString('utf8');
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { output: () => out, ws };
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe('a real guest on QEMU', () => {
  let imageId = '';

  before(async () => {
    h = await startHarness();
    const kernel = await hostKernel();
    const img = await h.client.createImage({
      name: 'busybox-guest',
      ...scope,
      format: 'kernel',
      cmdline: 'console=ttyS0 quiet panic=-1',
    });
    assert.equal(img.status, 'pending');
    await h.client.uploadImagePart(img.id, 'kernel', await readFile(kernel.path), scope);
    const done = await h.client.uploadImagePart(
      img.id,
      'initrd',
      await buildInitramfs(kernel.version),
      scope,
    );
    assert.equal(done.status, 'available');
    assert.deepEqual(done.parts, ['initrd', 'kernel']);
    imageId = img.id;
  });

  after(async () => {
    await h.close();
  });

  test('boots, shows its console, reboots, stops through ACPI and is deleted', async () => {
    const created = await h.client.createVm({
      name: 'guest-1',
      ...scope,
      vcpus: 1,
      memory_mib: 256,
      hypervisor: 'kvm',
      image_id: imageId,
    });
    assert.equal(created.state, 'Creating');
    assert.equal(created.cpus, 1);
    assert.equal(created.memory_mb, 256);

    const running = await waitState(created.id, 'Running');
    assert.equal(running.accelerator, (await kvmUsable()) ? 'kvm' : 'tcg');
    const st = await status(created.id);
    assert.ok(st?.pid !== null && st?.pid !== undefined);
    const cmdline = (await readFile(`/proc/${st.pid}/cmdline`, 'utf8')).split('\0');
    assert.equal(cmdline[cmdline.indexOf('-smp') + 1], '1');
    assert.equal(cmdline[cmdline.indexOf('-m') + 1], '256');
    assert.ok(cmdline.includes(`user,model=virtio-net-pci,mac=${running.mac_address}`));
    assert.deepEqual(await qemuPids(h.agentDir), [st.pid]);

    // The console: the boot marker arrives over the WebSocket.
    const con = await openConsole(created.id);
    await waitFor(() => con.output().includes(GUEST_MARKER), { timeoutMs: 60_000, what: 'guest marker' });
    // Typing into the console reaches the guest's shell.
    con.ws.send('echo typed-$((6*7))\n');
    await waitFor(() => con.output().includes('typed-42'), { timeoutMs: 20_000, what: 'shell echo' });

    // Reboot: the same QEMU resets the guest, which boots and prints the marker again.
    const before = count(con.output(), GUEST_MARKER);
    const rebooting = await call(h.url, 'POST', `/api/v1/vms/${created.id}/reboot${q}`);
    assert.equal(rebooting.status, 202);
    await waitFor(() => count(con.output(), GUEST_MARKER) > before, {
      timeoutMs: 60_000,
      what: 'marker after reboot',
    });
    assert.equal((await status(created.id))?.pid, st.pid, 'a reboot keeps the QEMU process');
    await waitState(created.id, 'Running');

    // Graceful stop: ACPI power button → the guest's init powers off → QEMU is quit.
    const stopping = await call(h.url, 'POST', `/api/v1/vms/${created.id}/stop${q}`, {
      force: false,
      timeout_seconds: 30,
    });
    assert.equal(stopping.status, 202);
    assert.ok(['Stopping', 'Stopped'].includes(stopping.body.data.state));
    await waitState(created.id, 'Stopped');
    const stopped = await status(created.id);
    assert.equal(stopped?.stop_method, 'acpi', 'the guest handled the ACPI power-down');
    assert.ok(
      (await readFile(vmPaths(h.agentDir, created.id).serialLog, 'utf8')).includes(GUEST_POWERDOWN_MARKER),
    );
    assert.deepEqual(await qemuPids(h.agentDir), []);
    con.ws.terminate();

    // Start again from Stopped, then delete while running.
    await h.client.startVm(created.id, scope);
    await waitState(created.id, 'Running');
    const deleting = await call(h.url, 'DELETE', `/api/v1/vms/${created.id}${q}`);
    assert.equal(deleting.status, 202);
    assert.equal(deleting.body.data.state, 'Deleting');
    await waitFor(async () => (await call(h.url, 'GET', `/api/v1/vms/${created.id}${q}`)).status === 404, {
      timeoutMs: 30_000,
      what: 'VM gone',
    });
    await assert.rejects(stat(vmPaths(h.agentDir, created.id).dir), { code: 'ENOENT' });
    assert.equal(await status(created.id), undefined);
    assert.deepEqual(await qemuPids(h.agentDir), []);

    // The image is free again and can be deleted with its files.
    const del = await call(h.url, 'DELETE', `/api/v1/images/${imageId}${q}`);
    assert.equal(del.status, 200);
  });

  test('a console token is bound to its VM and checked', async () => {
    const vm = await h.client.createVm({ name: 'guest-2', ...scope, memory_mib: 128 });
    await waitState(vm.id, 'Running');
    const access = await h.client.console(vm.id, scope);
    const refused = async (url: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => resolve(-1));
      });
    assert.equal(await refused(access.url.replace(/token=.*/, 'token=bogus.bogus')), 401);
    assert.equal(await refused(access.url.replace(vm.id, 'vm-0000000000000000')), 401);
    await h.client.stopVm(vm.id, { force: true }, scope);
    await waitState(vm.id, 'Stopped');
    const st = await status(vm.id);
    assert.equal(st?.stop_method, 'quit');
    const c = await call(h.url, 'GET', `/api/v1/vms/${vm.id}/console${q}`);
    assert.equal(c.status, 409);
    assert.equal(c.body.error.code, 'CONFLICT');
    await h.client.deleteVm(vm.id, scope);
    await waitFor(async () => (await call(h.url, 'GET', `/api/v1/vms/${vm.id}${q}`)).status === 404, {
      timeoutMs: 30_000,
    });
  });
});
