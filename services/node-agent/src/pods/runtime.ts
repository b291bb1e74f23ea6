/**
 * Containers on runc. Each container runs under a small detached shim — `/bin/sh` running
 * `runc run` in the foreground with stdin from /dev/null and stdout/stderr appended to the pod's log
 * file, then writing runc's exit status (the container's exit code) to a file. The shim lives in its own
 * session, so containers outlive an agent restart; the agent finds them again by runc state, the shim's
 * pid and the exit file (adoption), and never restarts a running one.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execTool } from './exec.js';

/** The runc binary (Debian's package). */
export const RUNC = process.env['PHOTONCLOUD_RUNC'] ?? '/usr/sbin/runc';

/** What runc says about a container. */
export type RuncStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped' | 'absent';

/** runc with the agent's own state root. */
export class Runc {
  constructor(readonly root: string) {}

  /** Whether runc has state for this container (cheap: its state directory exists). */
  known(id: string): boolean {
    return existsSync(join(this.root, id));
  }

  /** `runc state`, or `absent`. */
  async state(id: string): Promise<{ status: RuncStatus; pid: number }> {
    try {
      const out = await execTool(RUNC, ['--root', this.root, 'state', id], { timeoutMs: 15_000 });
      const s = JSON.parse(out) as { status?: RuncStatus; pid?: number };
      return { status: s.status ?? 'absent', pid: s.pid ?? 0 };
    } catch {
      return { status: 'absent', pid: 0 };
    }
  }

  /** IDs of every container under this root. */
  async list(): Promise<string[]> {
    try {
      const out = await execTool(RUNC, ['--root', this.root, 'list', '--format', 'json'], {
        timeoutMs: 15_000,
      });
      const arr = JSON.parse(out.trim() === '' ? '[]' : out) as Array<{ id: string }> | null;
      return (arr ?? []).map((c) => c.id);
    } catch {
      return [];
    }
  }

  /** Send a signal to the container's init. */
  async kill(id: string, signal: string): Promise<void> {
    await execTool(RUNC, ['--root', this.root, 'kill', id, signal], { timeoutMs: 15_000 }).catch(
      () => undefined,
    );
  }

  /** Remove the container's runc state (force: kills it if still running). */
  async delete(id: string): Promise<void> {
    await execTool(RUNC, ['--root', this.root, 'delete', '--force', id], { timeoutMs: 15_000 }).catch(
      () => undefined,
    );
  }

  /**
   * Start a container under a detached shim; returns the shim's pid. The exit file is written by the
   * shim (via a temp file and rename) when `runc run` returns.
   */
  async startShim(
    id: string,
    bundle: string,
    logFile: string,
    exitFile: string,
    pidFile: string,
  ): Promise<number> {
    await mkdir(this.root, { recursive: true });
    await rm(exitFile, { force: true });
    await rm(pidFile, { force: true });
    const script =
      'exec </dev/null >>"$4" 2>&1; "$0" --root "$1" run --pid-file "$6" --bundle "$2" "$3"; ' +
      'rc=$?; printf "%s" "$rc" > "$5.tmp" && mv -f "$5.tmp" "$5"';
    const child = spawn('/bin/sh', ['-c', script, RUNC, this.root, bundle, id, logFile, exitFile, pidFile], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error('could not start the container shim');
    return pid;
  }
}

/** The exit code the shim recorded, or null while none. */
export async function readExit(exitFile: string): Promise<number | null> {
  const t = await readFile(exitFile, 'utf8').catch(() => null);
  if (t === null || !/^\d+$/.test(t.trim())) return null;
  return Number(t.trim());
}

/** Whether a process is alive (signal 0). */
export function pidAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Mount an overlay rootfs: the shared image below, the pod's writable layer above. */
export async function mountRootfs(lower: string, dir: string): Promise<string> {
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  const target = join(dir, 'bundle', 'rootfs');
  await mkdir(upper, { recursive: true });
  await mkdir(work, { recursive: true });
  await mkdir(target, { recursive: true });
  if (await isMounted(target)) return target;
  await execTool('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${lower},upperdir=${upper},workdir=${work}`,
    target,
  ]);
  return target;
}

/** Whether a path is a mount point. */
export async function isMounted(path: string): Promise<boolean> {
  const t = await readFile('/proc/self/mountinfo', 'utf8');
  return t.split('\n').some((l) => l.split(' ')[4] === path);
}

/** Unmount the rootfs if mounted. */
export async function unmountRootfs(dir: string): Promise<void> {
  const target = join(dir, 'bundle', 'rootfs');
  for (let i = 0; i < 3 && (await isMounted(target)); i++) {
    await execTool('umount', [target]).catch(() => execTool('umount', ['-l', target]).catch(() => undefined));
  }
}

/** Write a file atomically. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
