/** Drive command-line programs (etcdctl, psql, awscli, …) from tests, with bounded time. */
import { spawn } from 'node:child_process';
import { trackChild } from './child-registry.js';
import { waitFor } from './wait-for.js';
import { terminate } from './terminate.js';

/** Options for `run` and `startProcess`. */
export interface RunOptions {
  /** Written to the child's stdin, which is then closed (stdin is closed at once when absent). */
  input?: string | Uint8Array;
  /** Kill the child (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  /** Extra environment variables (merged over `process.env`). */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** What a finished command produced. */
export interface RunResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when `timeoutMs` expired and the child was killed. */
  timedOut: boolean;
}

/** Run `cmd args…` to completion (or until `timeoutMs`) and collect its output. Never rejects on exit codes. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { input, timeoutMs = 30_000, env, cwd } = opts;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    trackChild(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // Exited meanwhile.
        }
      }
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {
      // The child may exit before reading its input (EPIPE); its exit status tells the story.
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** A long-running child (e.g. `etcdctl watch`) whose output is read while it runs. */
export interface StartedProcess {
  pid: number;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with stdout once `test(stdout)` holds; rejects after `timeoutMs` (default 10 s) or if the child exits first. */
  waitForOutput(test: string | RegExp | ((stdout: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Write to the child's stdin. */
  write(data: string | Uint8Array): void;
  /** Resolves when the child has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Send `signal` (default SIGTERM) to this PID, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(
    signal?: NodeJS.Signals,
    graceMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawn `cmd args…` and keep it running; the caller must `stop()` it. */
export async function startProcess(
  cmd: string,
  args: readonly string[],
  opts: Omit<RunOptions, 'input' | 'timeoutMs'> = {},
): Promise<StartedProcess> {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  trackChild(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`startProcess: ${cmd} has no pid`);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  child.stderr.on('data', (d: string) => (err += d));
  child.stdin.on('error', () => {
    // EPIPE after the child exits: nothing to do.
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'exit', not 'close': a grandchild holding the pipes open must not keep us waiting.
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const matches = (t: string | RegExp | ((s: string) => boolean)): boolean =>
    typeof t === 'string' ? out.includes(t) : t instanceof RegExp ? t.test(out) : t(out);
  return {
    pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    write: (data) => {
      child.stdin.write(data);
    },
    waitForOutput: async (test, timeoutMs = 10_000) => {
      await waitFor(
        () => {
          if (matches(test)) return true;
          if (done)
            throw new Error(`${cmd} exited; stdout=${JSON.stringify(out)} stderr=${JSON.stringify(err)}`);
          return false;
        },
        { timeoutMs, intervalMs: 20, what: `output of ${cmd}` },
      ).catch((e: unknown) => {
        throw new Error(
          `${(e as Error).message}; stdout=${JSON.stringify(out.slice(-2000))} stderr=${JSON.stringify(err.slice(-2000))}`,
        );
      });
      return out;
    },
    stop: async (signal = 'SIGTERM', graceMs = 5_000) => {
      if (!done) await terminate(pid, exited, { signal, graceMs });
      return exited;
    },
  };
}
