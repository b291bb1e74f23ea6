import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { VmSpecRecord } from '@photoncloud/plasmavmc-api';
import { acceleratorFor, hasDisk, qemuArgs, vmPaths } from './qemu.js';

function spec(patch: Partial<VmSpecRecord> = {}): VmSpecRecord {
  return {
    id: 'vm-1',
    name: 'a',
    org_id: 'o',
    project_id: 'p',
    vcpus: 2,
    memory_mib: 512,
    hypervisor: 'kvm',
    image_id: null,
    disk_size_gb: null,
    boot: { disk_path: null, disk_format: null, kernel_path: null, initrd_path: null, cmdline: null },
    subnet_id: null,
    port_id: null,
    ip_address: null,
    mac_address: '52:54:00:aa:bb:cc',
    desired: 'Running',
    generation: 1,
    reboot_seq: 0,
    force_stop: false,
    stop_timeout_seconds: 30,
    reservation_id: null,
    quota_consumed: false,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...patch,
  };
}

function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

describe('QEMU command line', () => {
  const paths = vmPaths('/var/lib/pc/vm', 'vm-1');

  test('KVM only when asked for and usable', () => {
    assert.equal(acceleratorFor({ hypervisor: 'kvm' }, true), 'kvm');
    assert.equal(acceleratorFor({ hypervisor: 'kvm' }, false), 'tcg');
    assert.equal(acceleratorFor({ hypervisor: 'qemu' }, true), 'tcg');
    assert.equal(after(qemuArgs(spec(), paths, 'kvm'), '-cpu'), 'host');
    assert.equal(after(qemuArgs(spec(), paths, 'tcg'), '-cpu'), undefined);
  });

  test('vCPUs, memory, QMP, serial chardev with log, NIC MAC, no disk without an image or size', () => {
    const args = qemuArgs(spec(), paths, 'tcg');
    assert.equal(after(args, '-smp'), '2');
    assert.equal(after(args, '-m'), '512');
    assert.equal(after(args, '-accel'), 'tcg');
    assert.equal(after(args, '-qmp'), 'unix:/var/lib/pc/vm/vm-1/qmp.sock,server=on,wait=off');
    assert.equal(
      after(args, '-chardev'),
      'socket,id=ser0,path=/var/lib/pc/vm/vm-1/serial.sock,server=on,wait=off,logfile=/var/lib/pc/vm/vm-1/serial.log,logappend=on',
    );
    assert.equal(after(args, '-serial'), 'chardev:ser0');
    assert.equal(after(args, '-nic'), 'user,model=virtio-net-pci,mac=52:54:00:aa:bb:cc');
    assert.ok(args.includes('-no-shutdown'));
    assert.equal(after(args, '-drive'), undefined);
    assert.equal(hasDisk(spec()), false);
  });

  test('disk overlay and direct kernel boot', () => {
    const disk = spec({
      disk_size_gb: 10,
      boot: {
        disk_path: '/img/disk',
        disk_format: 'raw',
        kernel_path: null,
        initrd_path: null,
        cmdline: null,
      },
    });
    assert.equal(
      after(qemuArgs(disk, paths, 'tcg'), '-drive'),
      'file=/var/lib/pc/vm/vm-1/disk.qcow2,format=qcow2,if=virtio,cache=writeback',
    );
    const kernel = spec({
      boot: {
        disk_path: null,
        disk_format: null,
        kernel_path: '/k',
        initrd_path: '/i',
        cmdline: 'console=ttyS0',
      },
    });
    const args = qemuArgs(kernel, paths, 'tcg');
    assert.equal(after(args, '-kernel'), '/k');
    assert.equal(after(args, '-initrd'), '/i');
    assert.equal(after(args, '-append'), 'console=ttyS0');
  });
});
