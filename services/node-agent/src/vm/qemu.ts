/**
 * The QEMU driver's process side: choosing the accelerator, building the command line, creating the VM's
 * qcow2 disk, launching QEMU daemonized (so it outlives the agent) and recognising it again by its pidfile.
 * Everything a VM owns lives in its runtime directory: qmp.sock, serial.sock, serial.log, qemu.pid, disk.qcow2.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { VmSpecRecord } from '@photoncloud/plasmavmc-api';

const exec = promisify(execFile);

/** The QEMU binary. */
export const QEMU_BINARY = 'qemu-system-x86_64';

/** Files of one VM's runtime directory. */
export interface VmPaths {
  dir: string;
  qmp: string;
  serial: string;
  serialLog: string;
  pidfile: string;
  disk: string;
}

/** The runtime paths of a VM under the component's data dir. */
export function vmPaths(dataDir: string, vmId: string): VmPaths {
  const dir = join(dataDir, vmId);
  return {
    dir,
    qmp: join(dir, 'qmp.sock'),
    serial: join(dir, 'serial.sock'),
    serialLog: join(dir, 'serial.log'),
    pidfile: join(dir, 'qemu.pid'),
    disk: join(dir, 'disk.qcow2'),
  };
}

/** Whether KVM is usable: /dev/kvm opens read-write and the CPU has vmx or svm. */
export async function kvmUsable(): Promise<boolean> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
    return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
  } catch {
    return false;
  }
}

/** The accelerator a VM gets: KVM when asked for and usable, TCG otherwise. */
export function acceleratorFor(spec: Pick<VmSpecRecord, 'hypervisor'>, kvm: boolean): 'kvm' | 'tcg' {
  return spec.hypervisor === 'kvm' && kvm ? 'kvm' : 'tcg';
}

/** Whether the VM gets a disk: an overlay on its image, or a blank disk of disk_size_gb. */
export function hasDisk(spec: VmSpecRecord): boolean {
  return spec.boot.disk_path !== null || spec.disk_size_gb !== null;
}

/**
 * QEMU's command line for a VM (without -daemonize/-pidfile). `-no-shutdown` keeps QEMU alive when the guest
 * powers off, so the agent can tell a guest power-off (QMP status "shutdown") from a crash (process gone).
 */
export function qemuArgs(spec: VmSpecRecord, paths: VmPaths, accel: 'kvm' | 'tcg'): string[] {
  const args = [
    '-name',
    `${spec.id},process=qemu-${spec.id}`,
    '-nodefaults',
    '-no-user-config',
    '-machine',
    'pc',
    '-accel',
    accel,
    ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-smp',
    String(spec.vcpus),
    '-m',
    String(spec.memory_mib),
    '-display',
    'none',
    '-chardev',
    `socket,id=ser0,path=${paths.serial},server=on,wait=off,logfile=${paths.serialLog},logappend=on`,
    '-serial',
    'chardev:ser0',
    '-qmp',
    `unix:${paths.qmp},server=on,wait=off`,
    '-no-shutdown',
    // User-mode networking: no host changes needed; the MAC is the PrismNET port's. A host-side dataplane
    // (bridge/tap into the VPC) is a later step.
    '-nic',
    `user,model=virtio-net-pci,mac=${spec.mac_address}`,
  ];
  if (hasDisk(spec)) args.push('-drive', `file=${paths.disk},format=qcow2,if=virtio,cache=writeback`);
  if (spec.boot.kernel_path !== null) {
    args.push('-kernel', spec.boot.kernel_path);
    if (spec.boot.initrd_path !== null) args.push('-initrd', spec.boot.initrd_path);
    if (spec.boot.cmdline !== null) args.push('-append', spec.boot.cmdline);
  }
  return args;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Create the VM's disk once: a qcow2 overlay backed by its image, or a blank qcow2 of disk_size_gb. */
export async function prepareDisk(spec: VmSpecRecord, paths: VmPaths): Promise<void> {
  if (!hasDisk(spec) || (await exists(paths.disk))) return;
  const size = spec.disk_size_gb === null ? [] : [`${spec.disk_size_gb}G`];
  const backing =
    spec.boot.disk_path === null ? [] : ['-b', spec.boot.disk_path, '-F', spec.boot.disk_format ?? 'raw'];
  const tmp = `${paths.disk}.tmp`;
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', ...backing, tmp, ...size], { timeout: 60_000 });
  await exec('mv', [tmp, paths.disk]);
}

/** Launch QEMU daemonized; resolves with its pid once it is initialised (QMP and serial sockets listening). */
export async function launchQemu(args: string[], paths: VmPaths): Promise<number> {
  try {
    await exec(QEMU_BINARY, [...args, '-daemonize', '-pidfile', paths.pidfile], { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `${QEMU_BINARY} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  const pid = await readPid(paths);
  if (pid === null) throw new Error(`${QEMU_BINARY} started but wrote no pidfile`);
  return pid;
}

/** The pid in the VM's pidfile, if any. */
export async function readPid(paths: VmPaths): Promise<number | null> {
  try {
    const n = Number((await readFile(paths.pidfile, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/**
 * The pid of this VM's QEMU if it is alive: the pidfile's process must still be a QEMU whose command line
 * names this VM's QMP socket (so a recycled pid is never mistaken for it).
 */
export async function livePid(paths: VmPaths): Promise<number | null> {
  const pid = await readPid(paths);
  if (pid === null) return null;
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.some((a) => a.includes(paths.qmp)) ? pid : null;
  } catch {
    return null;
  }
}

/** Whether `pid` still runs (a zombie counts as gone). */
export async function pidAlive(pid: number): Promise<boolean> {
  try {
    const st = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(st);
  } catch {
    return false;
  }
}
