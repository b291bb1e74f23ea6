/**
 * The REST API guide's §4 (PlasmaVMC) curl examples and "Example 1: Deploy VM with Networking", run verbatim
 * with the real `curl` (and `jq`) against PlasmaVMC, PrismNET and CreditService in-process on free ports,
 * with the node agent's QEMU driver running the VMs; only `http://localhost:<port>` is rewritten. The §4
 * examples name fixed IDs (vm-001…vm-003): the test pins the ID generator to hand those out in order, and
 * registers an image named "ubuntu-22.04" (a small blank raw disk) for the create example to use.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { CreditServiceClient } from '@photoncloud/creditservice-api';
import { PrismNetClient } from '@photoncloud/prismnet-api';
import { VM_KEYS } from '@photoncloud/plasmavmc-api';
import type { Vm, VmSpecRecord } from '@photoncloud/plasmavmc-api';
import { bytes, text } from '@photoncloud/store';
import { waitFor } from '@photoncloud/test-utils';
import { call, qemuPids, startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const exec = promisify(execFile);
const scope = { org_id: 'org-123', project_id: 'proj-456' };
const guideIds = ['vm-001', 'vm-002', 'vm-003'];

let h: Harness;

/** Run a shell snippet from the guide with the ports rewritten; returns stdout. */
async function sh(snippet: string): Promise<string> {
  const cmd = snippet
    .replaceAll('http://localhost:8084', h.url)
    .replaceAll('http://localhost:8087', h.serviceUrls['prismnet'] ?? 'unset')
    .replaceAll('http://localhost:8086', h.serviceUrls['creditservice'] ?? 'unset');
  assert.notEqual(cmd, snippet, 'the snippet must address a service');
  const { stdout } = await exec('bash', ['-c', `set -euo pipefail\n${cmd}`], { timeout: 60_000 });
  return stdout;
}

/** Run one curl command from the guide, adding only `-w` to learn the status; parse the JSON body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically.
async function curl(snippet: string): Promise<{ status: number; body: any }> {
  const out = await sh(`${snippet} -s -w '\\n%{http_code}'`);
  const nl = out.lastIndexOf('\n');
  return { status: Number(out.slice(nl + 1)), body: JSON.parse(out.slice(0, nl)) };
}

async function waitState(id: string, state: Vm['state']): Promise<Vm> {
  return waitFor(
    async () => {
      const vm = await h.client.getVm(id, scope);
      return vm.state === state ? vm : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `${id} ${state}` },
  );
}

describe('guide §4 PlasmaVMC curl examples and Example 1', () => {
  before(async () => {
    h = await startHarness({
      seams: true,
      newId: (prefix) =>
        prefix === 'vm' && guideIds.length > 0
          ? (guideIds.shift() as string)
          : `${prefix}-${randomBytes(8).toString('hex')}`,
    });
    // The records the guide's listing shows: vm-001 running, vm-002 stopped (created without starting).
    await h.client.createVm({ name: 'web-server-01', ...scope, vcpus: 4, memory_mib: 8192 });
    await h.client.createVm({ name: 'db-server-01', ...scope, vcpus: 8, memory_mib: 16384, start: false });
    // The image the create example names: a blank raw disk (it boots to the firmware's "no bootable disk").
    const img = await h.client.createImage({ name: 'ubuntu-22.04', ...scope, format: 'raw' });
    await h.client.uploadImagePart(img.id, 'disk', new Uint8Array(1024 * 1024), scope);
    await waitState('vm-001', 'Running');
    await waitState('vm-002', 'Stopped');
  });
  after(async () => {
    await h?.close();
  });

  test('Health Check', async () => {
    const { status, body } = await curl('curl http://localhost:8084/health');
    assert.equal(status, 200);
    assert.equal(body.data.status, 'healthy');
  });

  test('List VMs (the response shape of the guide)', async () => {
    const { status, body } = await curl(
      'curl "http://localhost:8084/api/v1/vms?org_id=org-123&project_id=proj-456"',
    );
    assert.equal(status, 200);
    const pick = (v: Vm) => ({
      id: v.id,
      name: v.name,
      state: v.state,
      cpus: v.cpus,
      memory_mb: v.memory_mb,
    });
    assert.deepEqual(body.data.vms.map(pick), [
      { id: 'vm-001', name: 'web-server-01', state: 'Running', cpus: 4, memory_mb: 8192 },
      { id: 'vm-002', name: 'db-server-01', state: 'Stopped', cpus: 8, memory_mb: 16384 },
    ]);
  });

  test('Create, Get, Start, Stop and Delete VM (vm-003)', async () => {
    const created = await curl(`curl -X POST http://localhost:8084/api/v1/vms \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "app-server-03",
    "org_id": "org-123",
    "project_id": "proj-456",
    "vcpus": 2,
    "memory_mib": 4096,
    "hypervisor": "kvm",
    "image_id": "ubuntu-22.04",
    "disk_size_gb": 50
  }'`);
    assert.equal(created.status, 201);
    assert.deepEqual(
      {
        id: created.body.data.id,
        name: created.body.data.name,
        state: created.body.data.state,
        cpus: created.body.data.cpus,
        memory_mb: created.body.data.memory_mb,
      },
      { id: 'vm-003', name: 'app-server-03', state: 'Creating', cpus: 2, memory_mb: 4096 },
    );
    await waitState('vm-003', 'Running');

    const got = await curl(
      'curl "http://localhost:8084/api/v1/vms/vm-003?org_id=org-123&project_id=proj-456"',
    );
    assert.equal(got.status, 200);
    assert.equal(got.body.data.state, 'Running');
    assert.equal(got.body.data.disk_size_gb, 50);
    // The VM's disk is a 50 GiB qcow2 overlay on the image.
    const info = JSON.parse(
      (await exec('qemu-img', ['info', '--output=json', '-U', `${h.agentDir}/vm-003/disk.qcow2`])).stdout,
    ) as { 'virtual-size': number; 'backing-filename'?: string };
    assert.equal(info['virtual-size'], 50 * 1024 ** 3);
    assert.match(info['backing-filename'] ?? '', /\/images\/img-[0-9a-f]+\/disk$/);

    const started = await curl(
      'curl -X POST "http://localhost:8084/api/v1/vms/vm-003/start?org_id=org-123&project_id=proj-456"',
    );
    assert.equal(started.status, 202);
    assert.equal(started.body.data.state, 'Running');

    const stopped =
      await curl(`curl -X POST "http://localhost:8084/api/v1/vms/vm-003/stop?org_id=org-123&project_id=proj-456" \\
  -H "Content-Type: application/json" \\
  -d '{"force": false}'`);
    assert.equal(stopped.status, 202);
    assert.equal(stopped.body.data.state, 'Stopping');

    // The firmware ignores the ACPI power button; the delete overtakes the graceful stop and kills QEMU.
    const deleted = await curl(
      'curl -X DELETE "http://localhost:8084/api/v1/vms/vm-003?org_id=org-123&project_id=proj-456"',
    );
    assert.equal(deleted.status, 202);
    assert.equal(deleted.body.data.state, 'Deleting');
    await waitFor(
      async () =>
        (await call(h.url, 'GET', '/api/v1/vms/vm-003?org_id=org-123&project_id=proj-456')).status === 404,
      {
        timeoutMs: 30_000,
        what: 'vm-003 gone',
      },
    );
  });

  test('Example 1: Deploy VM with Networking', async () => {
    const credit = new CreditServiceClient({ baseUrl: h.serviceUrls['creditservice'] as string });
    await credit.createWallet({ project_id: 'proj-456', org_id: 'org-123', initial_balance: 100_000 });
    const out = await sh(`# 1. Create VPC
VPC_ID=$(curl -s -X POST http://localhost:8087/api/v1/vpcs \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "app-vpc",
    "org_id": "org-123",
    "project_id": "proj-456",
    "cidr_block": "10.100.0.0/16"
  }' | jq -r '.data.id')

# 2. Create Subnet
SUBNET_ID=$(curl -s -X POST http://localhost:8087/api/v1/subnets \\
  -H "Content-Type: application/json" \\
  -d "{
    \\"name\\": \\"app-subnet\\",
    \\"vpc_id\\": \\"$VPC_ID\\",
    \\"cidr_block\\": \\"10.100.1.0/24\\",
    \\"gateway_ip\\": \\"10.100.1.1\\"
  }" | jq -r '.data.id')

# 3. Reserve Credits
RSV_ID=$(curl -s -X POST http://localhost:8086/api/v1/reservations \\
  -H "Content-Type: application/json" \\
  -d '{
    "project_id": "proj-456",
    "amount": 5000,
    "resource_type": "vm",
    "ttl_seconds": 3600
  }' | jq -r '.data.id')

# 4. Create VM
VM_ID=$(curl -s -X POST http://localhost:8084/api/v1/vms \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "app-server",
    "org_id": "org-123",
    "project_id": "proj-456",
    "vcpus": 4,
    "memory_mib": 8192,
    "hypervisor": "kvm"
  }' | jq -r '.data.id')

# 5. Start VM
curl -X POST "http://localhost:8084/api/v1/vms/$VM_ID/start?org_id=org-123&project_id=proj-456"

# 6. Commit Reservation
curl -X POST "http://localhost:8086/api/v1/reservations/$RSV_ID/commit" \\
  -H "Content-Type: application/json" \\
  -d "{
    \\"actual_amount\\": 4500,
    \\"resource_id\\": \\"$VM_ID\\"
  }"

echo "VM deployed: $VM_ID in VPC: $VPC_ID, Subnet: $SUBNET_ID"`);
    const m = /VM deployed: (vm-[0-9a-f]{16}) in VPC: (vpc-[0-9a-f]{16}), Subnet: (subnet-[0-9a-f]{16})/.exec(
      out,
    );
    assert.ok(m, out);
    const vmId = m[1] as string;
    // Step 5's answer: the VM was still being created (start is accepted and changes nothing).
    assert.match(out, /"state":"(Creating|Running)"/);
    const running = await waitState(vmId, 'Running');
    assert.equal(running.cpus, 4);
    assert.equal(running.memory_mb, 8192);
    // Step 6 committed the guide's own reservation; the VM holds its own (one hour: 4×10 + 8×5 credits).
    const wallet = await credit.getWallet('proj-456');
    assert.equal(wallet.balance, 100_000 - 4500);
    assert.equal(wallet.reserved, 80);
    const quota = await credit.getQuota('proj-456');
    assert.equal(quota.usage['vcpus'], 4 + 4 + 8); // vm-001, vm-002 and this one
    assert.equal(quota.usage['vms'], 3);

    // The PrismNET seam: a VM in the subnet gets a port, and its NIC that port's MAC.
    const prismnet = new PrismNetClient({ baseUrl: h.serviceUrls['prismnet'] as string });
    const inSubnet = await h.client.createVm({
      name: 'net-vm',
      ...scope,
      memory_mib: 128,
      subnet_id: m[3] as string,
    });
    assert.equal(inSubnet.subnet_id, m[3]);
    assert.match(inSubnet.ip_address ?? '', /^10\.100\.1\.\d+$/);
    const port = await prismnet.getPort(inSubnet.port_id as string, scope);
    assert.equal(port.device_owner, inSubnet.id);
    assert.equal(port.mac_address, inSubnet.mac_address);
    await waitState(inSubnet.id, 'Running');
    const pids = await qemuPids(h.agentDir);
    const cmdlines = await Promise.all(pids.map((p) => readFile(`/proc/${p}/cmdline`, 'utf8')));
    assert.ok(cmdlines.some((c) => c.includes(`mac=${port.mac_address}`)));

    // Deleting releases the port, charges the VM's reservation and gives the quota back.
    await h.client.deleteVm(inSubnet.id, scope);
    await h.client.deleteVm(vmId, scope);
    await assert.rejects(prismnet.getPort(port.id, scope), { status: 404 });
    const after = await credit.getWallet('proj-456');
    assert.equal(after.reserved, 0);
    assert.equal(after.balance, 100_000 - 4500 - 80 - 15);
    assert.equal((await credit.getQuota('proj-456')).usage['vms'], 2);
  });

  test('CreditService billing: the hours a VM ran are charged at deletion', async () => {
    const credit = new CreditServiceClient({ baseUrl: h.serviceUrls['creditservice'] as string });
    const before = await credit.getWallet('proj-456');
    const vm = await h.client.createVm({ name: 'billed', ...scope, vcpus: 1, memory_mib: 128, start: false });
    assert.equal((await credit.getWallet('proj-456')).reserved, before.reserved + 15);
    // Pretend it was created 2.5 hours ago: 3 started hours × 15 credits.
    const key = bytes(VM_KEYS.vm(vm.id));
    const rec = JSON.parse(
      text((await h.store.range({ key })).kvs[0]?.value ?? new Uint8Array()),
    ) as VmSpecRecord;
    rec.created_at = new Date(Date.now() - 2.5 * 3_600_000).toISOString();
    await h.store.put({ key, value: bytes(JSON.stringify(rec)) });
    await h.client.deleteVm(vm.id, scope);
    const after = await credit.getWallet('proj-456');
    assert.equal(after.reserved, before.reserved);
    assert.equal(after.balance, before.balance - 45);
  });

  test('CreditService quota: over the limit is 409 and leaves nothing behind', async () => {
    const credit = new CreditServiceClient({ baseUrl: h.serviceUrls['creditservice'] as string });
    await credit.putQuota('proj-small', { limits: { vcpus: 2 }, org_id: 'org-123' });
    const small = { org_id: 'org-123', project_id: 'proj-small' };
    const over = await call(h.url, 'POST', '/api/v1/vms', {
      name: 'big',
      ...small,
      vcpus: 4,
      memory_mib: 64,
    });
    assert.equal(over.status, 409);
    assert.equal(over.body.error.code, 'CONFLICT');
    assert.equal(over.body.error.details.reason, 'QUOTA_EXCEEDED');
    const fits = await call(h.url, 'POST', '/api/v1/vms', {
      name: 'fits',
      ...small,
      vcpus: 2,
      memory_mib: 64,
      start: false,
    });
    assert.equal(fits.status, 201);
    assert.equal((await credit.getQuota('proj-small')).usage['vcpus'], 2);
    await h.client.deleteVm(fits.body.data.id, small);
    assert.equal((await credit.getQuota('proj-small')).usage['vcpus'] ?? 0, 0);
  });
});
