/**
 * `<data-dir>/run/up.json`: what `photoncloud up` started (its PID, each child's PID, ports, log file).
 * Written atomically (temp file + rename) on every change, so `status` never reads half a file.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuthMode } from '@photoncloud/config';

/** One listener of a service as recorded in up.json. */
export interface RunListener {
  name: string;
  protocol: string;
  description: string;
  port: number;
  /** `host:port` to dial. */
  address: string;
  url?: string;
}

/** One supervised service. */
export interface RunService {
  name: string;
  title: string;
  /** PID of the current child; null while it is being restarted. */
  pid: number | null;
  state: 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';
  restarts: number;
  /** RFC 3339 time the current child was started. */
  started_at: string | null;
  log_file: string;
  listeners: RunListener[];
}

/** The whole file. */
export interface RunState {
  /** Format version of this file. */
  version: 1;
  /** PID of the `photoncloud up` supervisor. */
  pid: number;
  state: 'starting' | 'running' | 'stopping';
  started_at: string;
  data_dir: string;
  host: string;
  auth_mode: AuthMode;
  services: RunService[];
}

/** Write `state` to `file` atomically. */
export async function writeRunState(file: string, state: RunState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}

/** Remove the file (missing is fine). */
export async function removeRunState(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** Outcome of reading up.json. */
export type ReadRunState =
  { kind: 'missing' } | { kind: 'invalid'; reason: string } | { kind: 'ok'; state: RunState };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Read and check up.json. A damaged file is reported, never thrown. */
export function readRunState(file: string): ReadRunState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'invalid', reason: (err as Error).message };
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'not valid JSON' };
  }
  if (!isRecord(v) || v['version'] !== 1 || typeof v['pid'] !== 'number' || !Array.isArray(v['services'])) {
    return { kind: 'invalid', reason: 'unexpected content' };
  }
  for (const s of v['services']) {
    if (!isRecord(s) || typeof s['name'] !== 'string' || !Array.isArray(s['listeners'])) {
      return { kind: 'invalid', reason: 'unexpected service entry' };
    }
  }
  return { kind: 'ok', state: v as unknown as RunState };
}

/**
 * Is `pid` a live `photoncloud` process? Checking the command line guards against a PID reused by an
 * unrelated process after a crash left a stale up.json behind.
 */
export function isPhotonCloudProcess(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive but not ours to signal; it cannot be our supervisor then only if cmdline says so.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('photoncloud');
  } catch {
    // No /proc (not Linux): trust the signal check.
    return true;
  }
}
