/**
 * Desired vs observed across agent restarts and crashes: a VM keeps running while the agent is down and is
 * adopted again (same QEMU pid, nothing started twice, nothing orphaned); a VM whose QEMU died while the
 * agent was away is started again because it should run; a QEMU that dies under a running agent shows as
 * Error, and a start brings it back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VM_KEYS } from '@photoncloud/plasmavmc-api';
import type { Vm, VmStatusRecord } from '@photoncloud/plasmavmc-api';
import { bytes, text } from '@photoncloud/store';
import { waitFor } from '@photoncloud/test-utils';
import { qemuPids, startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const scope = { org_id: 'org-1', project_id: 'proj-1' };
let h: Harness;

async function status(id: string): Promise<VmStatusRecord | undefined> {
  const kv = (await h.store.range({ key: bytes(VM_KEYS.status(id)) })).kvs[0];
  return kv === undefined ? undefined : (JSON.parse(text(kv.value)) as VmStatusRecord);
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

async function waitGone(pid: number): Promise<void> {
  await waitFor(async () => !(await qemuPids(h.agentDir)).includes(pid), {
    timeoutMs: 10_000,
    what: `pid ${pid} gone`,
  });
}

describe('node agent restarts', () => {
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test('a running VM is adopted again after an agent restart', async () => {
    const vm = await h.client.createVm({ name: 'survivor', ...scope, memory_mib: 64 });
    await waitState(vm.id, 'Running');
    const pid = (await status(vm.id))?.pid;
    assert.ok(typeof pid === 'number');

    await h.agent?.close();
    await sleep(1500); // longer than a monitor period: nothing touches the VM while the agent is away
    assert.deepEqual(await qemuPids(h.agentDir), [pid], 'QEMU outlives the agent');

    await h.startAgent();
    await sleep(2500); // a few monitor periods with the new agent
    assert.equal((await status(vm.id))?.pid, pid, 'the same QEMU process is adopted');
    assert.equal((await h.client.getVm(vm.id, scope)).state, 'Running');
    assert.deepEqual(await qemuPids(h.agentDir), [pid], 'nothing started twice');

    // A VM whose QEMU died while the agent was away is started again (its desired state is Running).
    await h.agent?.close();
    process.kill(pid, 'SIGKILL');
    await waitGone(pid);
    await h.startAgent();
    const again = await waitFor(
      async () => {
        const st = await status(vm.id);
        return st?.phase === 'Running' && st.pid !== pid ? st.pid : undefined;
      },
      { timeoutMs: 30_000, what: 'restarted QEMU' },
    );
    assert.deepEqual(await qemuPids(h.agentDir), [again]);

    // A crash under a running agent: Error, with the reason; start brings it back.
    process.kill(again, 'SIGKILL');
    const crashed = await waitState(vm.id, 'Error');
    assert.match(crashed.error ?? '', /exited unexpectedly/);
    assert.equal((await status(vm.id))?.stop_method, 'crash');
    await h.client.startVm(vm.id, scope);
    await waitState(vm.id, 'Running');
    const third = (await status(vm.id))?.pid;
    assert.ok(typeof third === 'number' && third !== again);

    await h.client.deleteVm(vm.id, scope);
    await waitFor(
      async () => (await qemuPids(h.agentDir)).length === 0 && (await status(vm.id)) === undefined,
      {
        timeoutMs: 30_000,
        what: 'VM cleaned up',
      },
    );
  });

  test('a QEMU whose records vanished while the agent was away is an orphan: stopped and removed', async () => {
    const vm = await h.client.createVm({ name: 'orphan', ...scope, memory_mib: 64 });
    await waitState(vm.id, 'Running');
    const pid = (await status(vm.id))?.pid;
    assert.ok(typeof pid === 'number');
    await h.agent?.close();
    await h.store.deleteRange({ key: bytes(VM_KEYS.vm(vm.id)) });
    await h.store.deleteRange({ key: bytes(VM_KEYS.status(vm.id)) });
    await h.startAgent();
    await waitGone(pid);
    await waitFor(async () => !existsSync(join(h.agentDir, vm.id)), {
      timeoutMs: 10_000,
      what: 'runtime dir removed',
    });
    assert.deepEqual(await qemuPids(h.agentDir), []);
  });
});
