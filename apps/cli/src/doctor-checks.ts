/**
 * Host checks for `photoncloud doctor`: what this machine offers the runtimes (Node, QEMU and KVM, runc,
 * etcd, iproute2) and whether the data directory is usable. Each check returns a structured result with
 * the Debian package that provides what is missing; nothing here changes the host.
 */
import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, open, readFile, rm, stat, statfs } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';

/** Outcome of one check. */
export type CheckStatus = 'ok' | 'missing' | 'warn';

/** One line of the doctor report. */
export interface DoctorCheck {
  /** What was checked (`node`, `qemu-system-x86_64`, `kvm`, …). */
  name: string;
  status: CheckStatus;
  /** Version found, or why it is missing / not usable. */
  detail: string;
  /** Debian package that provides it. */
  package?: string;
  /** What it is needed for. */
  purpose: string;
}

/** Minimum Node.js version (package.json "engines"). */
export const MIN_NODE = '20.19.0';

/** Compare dotted versions numerically (`20.9` < `20.19`); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a
    .replace(/^v/, '')
    .split('.')
    .map((x) => Number.parseInt(x, 10) || 0);
  const pb = b
    .replace(/^v/, '')
    .split('.')
    .map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Node.js itself. */
export function checkNode(version: string = process.versions.node): DoctorCheck {
  const ok = compareVersions(version, MIN_NODE) >= 0;
  return {
    name: 'node',
    status: ok ? 'ok' : 'missing',
    detail: ok ? `v${version}` : `v${version} is too old (need >= ${MIN_NODE})`,
    package: 'nodejs',
    purpose: 'runs PhotonCloud',
  };
}

/** Directories searched besides $PATH: admin tools like `ip` live in sbin, often not on a user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Find an executable by name on $PATH (plus the sbin directories); undefined when absent. */
export async function findExecutable(
  name: string,
  pathEnv: string = process.env['PATH'] ?? '',
): Promise<string | undefined> {
  const dirs = [...pathEnv.split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      await access(file, fsConstants.X_OK);
      if ((await stat(file)).isFile()) return file;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** How to check one external program. */
export interface ProgramSpec {
  name: string;
  args: string[];
  package: string;
  purpose: string;
  /** Pull the version out of the program's output; default: its first line. */
  version?: (output: string) => string | undefined;
}

/** The programs PhotonCloud's runtimes use. */
export const PROGRAMS: readonly ProgramSpec[] = [
  {
    name: 'qemu-system-x86_64',
    args: ['--version'],
    package: 'qemu-system-x86',
    purpose: 'runs VMs (PlasmaVMC)',
    version: (o) => /QEMU emulator version (\S+)/.exec(o)?.[1],
  },
  {
    name: 'qemu-img',
    args: ['--version'],
    package: 'qemu-utils',
    purpose: 'creates qcow2 VM disks',
    version: (o) => /qemu-img version (\S+)/.exec(o)?.[1],
  },
  {
    name: 'runc',
    args: ['--version'],
    package: 'runc',
    purpose: 'runs OCI containers (k8shost)',
    version: (o) => /runc version (\S+)/.exec(o)?.[1],
  },
  {
    name: 'etcd',
    args: ['--version'],
    package: 'etcd-server',
    purpose: 'benchmark anchor and store contract tests',
    version: (o) => /etcd Version: (\S+)/.exec(o)?.[1],
  },
  {
    name: 'etcdctl',
    args: ['version'],
    package: 'etcd-client',
    purpose: 'etcd v3 client for ChainFire',
    version: (o) => /etcdctl version: (\S+)/.exec(o)?.[1],
  },
  {
    name: 'ip',
    args: ['-V'],
    package: 'iproute2',
    purpose: 'bridges, veth and namespaces (PrismNET)',
    version: (o) => /iproute2-(\S+?),?\s/.exec(`${o} `)?.[1] ?? /ip utility, (\S+)/.exec(o)?.[1],
  },
  {
    name: 'curl',
    args: ['--version'],
    package: 'curl',
    purpose: "the README's API tour",
    version: (o) => /^curl (\S+)/.exec(o)?.[1],
  },
];

/** Run `file args…` with a time limit; resolves with stdout+stderr, rejects on failure. */
function runQuiet(file: string, args: string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (err) reject(err);
        else resolve(`${stdout}\n${stderr}`);
      },
    );
  });
}

/** Is `spec`'s program installed, and which version? */
export async function checkProgram(spec: ProgramSpec, pathEnv?: string): Promise<DoctorCheck> {
  const base = { name: spec.name, package: spec.package, purpose: spec.purpose };
  const file = await findExecutable(spec.name, pathEnv);
  if (file === undefined) return { ...base, status: 'missing', detail: 'not installed' };
  try {
    const out = await runQuiet(file, spec.args);
    const firstLine = out.trim().split('\n')[0] ?? '';
    const version = spec.version?.(out) ?? firstLine;
    return { ...base, status: 'ok', detail: `${version} (${file})` };
  } catch (err) {
    return {
      ...base,
      status: 'warn',
      detail: `${file} is installed but "${spec.name} ${spec.args.join(' ')}" failed: ${(err as Error).message.split('\n')[0]}`,
    };
  }
}

/** Where the KVM check looks (tests point it elsewhere). */
export interface KvmPaths {
  device?: string;
  cpuinfo?: string;
}

/**
 * Is KVM usable? It needs both the device (open read-write, as QEMU does) and hardware virtualisation
 * (vmx/svm in the CPU flags); a VM guest without nested virtualisation often has the first but not the
 * second. When either is missing, QEMU falls back to TCG: correct, only slower.
 */
export async function checkKvm(paths: KvmPaths = {}): Promise<DoctorCheck> {
  const device = paths.device ?? '/dev/kvm';
  const cpuinfo = paths.cpuinfo ?? '/proc/cpuinfo';
  const problems: string[] = [];
  try {
    const fh = await open(device, 'r+');
    await fh.close();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.push(
      code === 'ENOENT'
        ? `${device} does not exist (kvm module not loaded or no hardware support)`
        : code === 'EACCES' || code === 'EPERM'
          ? `${device} is not read-write for this user (add it to group kvm)`
          : `cannot open ${device}: ${code ?? (err as Error).message}`,
    );
  }
  let flags = '';
  try {
    const text = await readFile(cpuinfo, 'utf8');
    flags = /^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? '';
  } catch {
    problems.push(`cannot read ${cpuinfo}`);
  }
  const words = new Set(flags.split(/\s+/));
  const virt = words.has('vmx') ? 'vmx' : words.has('svm') ? 'svm' : undefined;
  if (virt === undefined && flags !== '')
    problems.push(
      'the CPU has no vmx/svm flag (no hardware virtualisation, or nested virtualisation is off)',
    );
  if (problems.length === 0) {
    return {
      name: 'kvm',
      status: 'ok',
      detail: `usable (${device} read-write, CPU flag ${virt ?? '?'})`,
      package: 'qemu-system-x86',
      purpose: 'hardware-accelerated VMs',
    };
  }
  return {
    name: 'kvm',
    status: 'warn',
    detail: `not usable: ${problems.join('; ')} — VMs will run with TCG (software emulation, slower)`,
    purpose: 'hardware-accelerated VMs',
  };
}

/** Below this much free space the data directory check warns. */
export const MIN_FREE_BYTES = 2 * 1024 ** 3;

/** Nearest existing directory at or above `dir`. */
async function existingAncestor(dir: string): Promise<string> {
  let cur = dir;
  for (;;) {
    try {
      if ((await stat(cur)).isDirectory()) return cur;
    } catch {
      // Keep going up.
    }
    const up = dirname(cur);
    if (up === cur) return cur;
    cur = up;
  }
}

/** Human bytes (GiB/MiB). */
export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return `${(n / 1024 ** 2).toFixed(0)} MiB`;
}

/** Is the data directory (or the directory it would be created in) writable, and how much room is there? */
export async function checkDataDir(dir: string): Promise<DoctorCheck[]> {
  const where = await existingAncestor(dir);
  const exists = where === dir;
  const out: DoctorCheck[] = [];
  try {
    // access(W_OK) says yes on a read-only mount; creating a file is the real test.
    const probe = await mkdtemp(join(where, '.photoncloud-doctor-'));
    await rm(probe, { recursive: true, force: true });
    out.push({
      name: 'data dir',
      status: 'ok',
      detail: exists ? `${dir} is writable` : `${dir} will be created (in writable ${where})`,
      purpose: 'all platform state',
    });
  } catch (err) {
    out.push({
      name: 'data dir',
      status: 'missing',
      detail: `${exists ? dir : `${where} (parent of ${dir})`} is not writable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      purpose: 'all platform state',
    });
  }
  try {
    const fs = await statfs(where);
    const free = fs.bavail * fs.bsize;
    const total = fs.blocks * fs.bsize;
    out.push({
      name: 'free disk',
      status: free >= MIN_FREE_BYTES ? 'ok' : 'warn',
      detail: `${formatBytes(free)} free of ${formatBytes(total)} at ${where}${free >= MIN_FREE_BYTES ? '' : ` (less than ${formatBytes(MIN_FREE_BYTES)})`}`,
      purpose: 'VM disks, objects, metrics',
    });
  } catch (err) {
    out.push({
      name: 'free disk',
      status: 'warn',
      detail: `cannot stat ${where}: ${(err as Error).message}`,
      purpose: 'VM disks, objects, metrics',
    });
  }
  return out;
}

/** Every check, in report order. */
export async function runDoctorChecks(opts: {
  dataDir: string;
  pathEnv?: string;
  kvm?: KvmPaths;
}): Promise<DoctorCheck[]> {
  const programs = await Promise.all(PROGRAMS.map((p) => checkProgram(p, opts.pathEnv)));
  const [qemu, qemuImg, ...rest] = programs;
  const kvm = await checkKvm(opts.kvm);
  return [
    checkNode(),
    ...(qemu ? [qemu] : []),
    kvm,
    ...(qemuImg ? [qemuImg] : []),
    ...rest,
    ...(await checkDataDir(opts.dataDir)),
  ];
}
