import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { VmSpecRecord, VmState, VmStatusRecord } from '@photoncloud/plasmavmc-api';
import {
  applyAction,
  consoleAvailable,
  hourlyRate,
  macFromBytes,
  usageCharge,
  visibleState,
} from './vm-state.js';
import type { VmAction } from './vm-state.js';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:00:05Z';

function spec(patch: Partial<VmSpecRecord> = {}): VmSpecRecord {
  return {
    id: 'vm-1',
    name: 'a',
    org_id: 'o',
    project_id: 'p',
    vcpus: 2,
    memory_mib: 1024,
    hypervisor: 'kvm',
    image_id: null,
    disk_size_gb: null,
    boot: { disk_path: null, disk_format: null, kernel_path: null, initrd_path: null, cmdline: null },
    subnet_id: null,
    port_id: null,
    ip_address: null,
    mac_address: '52:54:00:00:00:01',
    desired: 'Running',
    generation: 1,
    reboot_seq: 0,
    force_stop: false,
    stop_timeout_seconds: 30,
    reservation_id: null,
    quota_consumed: false,
    created_at: T0,
    updated_at: T0,
    ...patch,
  };
}

function status(patch: Partial<VmStatusRecord> = {}): VmStatusRecord {
  return {
    phase: 'Running',
    generation: 1,
    reboot_seq: 0,
    node: 'n',
    pid: 1,
    accelerator: 'tcg',
    serial_socket: null,
    serial_log: null,
    qmp_socket: null,
    stop_method: null,
    message: null,
    started_at: T0,
    updated_at: T0,
    ...patch,
  };
}

describe('visibleState', () => {
  test('a new VM is Creating until the agent reports, then what the agent saw', () => {
    assert.equal(visibleState(spec(), undefined), 'Creating');
    assert.equal(visibleState(spec(), status()), 'Running');
    assert.equal(visibleState(spec(), status({ phase: 'Error' })), 'Error');
  });
  test('an intent the agent has not acted on shows as the transition', () => {
    const stopping = spec({ desired: 'Stopped', generation: 2 });
    assert.equal(visibleState(stopping, status()), 'Stopping');
    assert.equal(visibleState(stopping, status({ phase: 'Stopped' })), 'Stopped');
    const starting = spec({ generation: 3 });
    assert.equal(visibleState(starting, status({ phase: 'Stopped', generation: 2 })), 'Starting');
    const rebooting = spec({ generation: 2, reboot_seq: 1 });
    assert.equal(visibleState(rebooting, status()), 'Rebooting');
    assert.equal(visibleState(rebooting, status({ generation: 2, reboot_seq: 1 })), 'Running');
    assert.equal(visibleState(spec({ desired: 'Deleted', generation: 2 }), status()), 'Deleting');
  });
});

describe('applyAction', () => {
  const stop: VmAction = { kind: 'stop', force: false, timeoutSeconds: 30 };
  const table: Array<[VmState, VmAction['kind'], 'change' | 'same' | 'refuse']> = [
    ['Stopped', 'start', 'change'],
    ['Error', 'start', 'change'],
    ['Creating', 'start', 'same'],
    ['Running', 'start', 'same'],
    ['Stopping', 'start', 'refuse'],
    ['Rebooting', 'start', 'refuse'],
    ['Deleting', 'start', 'refuse'],
    ['Running', 'stop', 'change'],
    ['Creating', 'stop', 'change'],
    ['Error', 'stop', 'change'],
    ['Stopped', 'stop', 'same'],
    ['Stopping', 'stop', 'same'],
    ['Deleting', 'stop', 'refuse'],
    ['Running', 'reboot', 'change'],
    ['Stopped', 'reboot', 'refuse'],
    ['Creating', 'reboot', 'refuse'],
    ['Running', 'delete', 'change'],
    ['Stopped', 'delete', 'change'],
    ['Deleting', 'delete', 'refuse'],
  ];
  for (const [state, kind, want] of table) {
    test(`${kind} in ${state}: ${want}`, () => {
      const action: VmAction = kind === 'stop' ? stop : ({ kind } as VmAction);
      const r = applyAction(spec(), state, action, T1);
      if (want === 'refuse') {
        assert.equal(r.ok, false);
        return;
      }
      assert.ok(r.ok);
      assert.equal(r.changed, want === 'change');
      assert.equal(r.spec.generation, want === 'change' ? 2 : 1);
      if (want === 'change') assert.equal(r.spec.updated_at, T1);
    });
  }
  test('the new intent of each action', () => {
    const s = (a: VmAction, st: VmState) => {
      const r = applyAction(spec(), st, a, T1);
      assert.ok(r.ok);
      return r.spec;
    };
    assert.equal(s({ kind: 'start' }, 'Stopped').desired, 'Running');
    assert.equal(s({ kind: 'delete' }, 'Running').desired, 'Deleted');
    assert.equal(s({ kind: 'reboot' }, 'Running').reboot_seq, 1);
    const forced = s({ kind: 'stop', force: true, timeoutSeconds: 5 }, 'Running');
    assert.equal(forced.desired, 'Stopped');
    assert.equal(forced.force_stop, true);
    assert.equal(forced.stop_timeout_seconds, 5);
  });
  test('a forced stop overtakes a graceful one in flight', () => {
    const graceful = spec({ desired: 'Stopped', generation: 2 });
    const r = applyAction(graceful, 'Stopping', { kind: 'stop', force: true, timeoutSeconds: 30 }, T1);
    assert.ok(r.ok && r.changed && r.spec.force_stop && r.spec.generation === 3);
  });
});

describe('helpers', () => {
  test('console needs a running VM', () => {
    assert.equal(consoleAvailable('Running'), true);
    assert.equal(consoleAvailable('Stopped'), false);
  });
  test('billing rates and charges', () => {
    assert.equal(hourlyRate(4, 8192), 80);
    assert.equal(hourlyRate(1, 256), 15);
    assert.deepEqual(usageCharge(80, 1000, 80), { commit: 80, overage: 0 });
    assert.deepEqual(usageCharge(10, 3 * 3_600_000 + 1, 100), { commit: 40, overage: 0 });
    assert.deepEqual(usageCharge(10, 30 * 3_600_000, 100), { commit: 100, overage: 200 });
  });
  test('MACs are locally administered in the 52:54:00 range', () => {
    assert.equal(macFromBytes(new Uint8Array([1, 0xab, 255])), '52:54:00:01:ab:ff');
  });
});
