/**
 * Supervises one service process for `photoncloud up`: starts it, appends its output to its log file,
 * restarts it with exponential backoff when it dies, and stops it gracefully (SIGTERM, then SIGKILL by
 * PID after a timeout).
 *
 * Children run in their own process group (`detached`), so a Ctrl-C in the terminal reaches only the
 * supervisor, which then stops them in order. They also get an IPC channel: if the supervisor dies
 * without stopping them (SIGKILL, OOM), the channel closes and each child shuts itself down instead of
 * living on as an orphan holding ports and files.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/** Restart policy. */
export interface BackoffOptions {
  /** First restart delay; default 500 ms. */
  initialMs?: number;
  /** Delay cap; default 30 s. */
  maxMs?: number;
  /** A child that ran this long resets the delay to `initialMs`; default 60 s. */
  resetAfterMs?: number;
}

/** What a supervisor reports. */
export type SupervisorEvent =
  | { type: 'spawn'; pid: number; attempt: number }
  | {
      type: 'exit';
      pid: number;
      code: number | null;
      signal: NodeJS.Signals | null;
      restartInMs: number | null;
    }
  | { type: 'spawn-error'; error: string; restartInMs: number | null };

/** Options of a `Supervisor`. */
export interface SupervisorOptions {
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr of the child are appended here. */
  logFile: string;
  backoff?: BackoffOptions;
  onEvent?: (event: SupervisorEvent) => void;
}

/** The restart delay after `failures` consecutive short-lived runs (1 → initial). */
export function backoffDelay(failures: number, opts: BackoffOptions = {}): number {
  const initial = opts.initialMs ?? 500;
  const max = opts.maxMs ?? 30_000;
  const n = Math.max(1, failures);
  return Math.min(max, initial * 2 ** Math.min(n - 1, 30));
}

/** Keeps one child process running until `stop()`. */
export class Supervisor {
  readonly name: string;
  private readonly opts: SupervisorOptions;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private consecutiveFailures = 0;
  private startedAtMs = 0;
  /** Times the child was restarted after dying. */
  restarts = 0;
  /** RFC 3339 start time of the current child. */
  startedAt: string | null = null;

  constructor(opts: SupervisorOptions) {
    this.name = opts.name;
    this.opts = opts;
  }

  /** PID of the running child, if any. */
  get pid(): number | undefined {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  /** True once `stop()` was called. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** Start the child (first run). */
  start(): void {
    if (this.child !== undefined || this.stopping) return;
    this.spawnChild();
  }

  /** Write one supervisor line into the service's log, in the same JSON shape as the services' logs. */
  log(level: 'info' | 'warn' | 'error', msg: string, extra: Record<string, unknown> = {}): void {
    const line = JSON.stringify({
      level,
      time: new Date().toISOString(),
      service: 'supervisor',
      target: this.name,
      ...extra,
      msg,
    });
    try {
      appendFileSync(this.opts.logFile, `${line}\n`);
    } catch {
      // The log is best effort; the supervisor's own output still reports events.
    }
  }

  private spawnChild(): void {
    mkdirSync(dirname(this.opts.logFile), { recursive: true });
    const fd = openSync(this.opts.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.opts.command, [...this.opts.args], {
        cwd: this.opts.cwd,
        env: this.opts.env ?? process.env,
        stdio: ['ignore', fd, fd, 'ipc'],
        detached: true,
      });
    } catch (err) {
      closeSync(fd);
      this.onSpawnError(err);
      return;
    }
    // The child has its own copy of the descriptor.
    closeSync(fd);
    this.child = child;
    this.startedAtMs = Date.now();
    this.startedAt = new Date(this.startedAtMs).toISOString();
    child.on('error', (err) => {
      if (child.pid === undefined) this.onSpawnError(err);
    });
    // Messages are not used; a child that sends one must not crash us with an unhandled event.
    child.on('message', () => undefined);
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        this.onExit(child, code, signal);
      });
    });
    if (child.pid !== undefined) {
      this.log('info', `started ${this.name} (pid ${child.pid})`, { pid: child.pid });
      this.opts.onEvent?.({ type: 'spawn', pid: child.pid, attempt: this.restarts });
    }
  }

  private onSpawnError(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.child = undefined;
    const delay = this.scheduleRestart(false);
    this.log('error', `cannot start ${this.name}: ${message}`);
    this.opts.onEvent?.({ type: 'spawn-error', error: message, restartInMs: delay });
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    const pid = child.pid ?? 0;
    const ranMs = Date.now() - this.startedAtMs;
    const delay = this.scheduleRestart(ranMs >= (this.opts.backoff?.resetAfterMs ?? 60_000));
    this.log(this.stopping ? 'info' : 'warn', `${this.name} exited`, {
      pid,
      code,
      signal,
      restart_in_ms: delay,
    });
    this.opts.onEvent?.({ type: 'exit', pid, code, signal, restartInMs: delay });
  }

  /** Plan the next start; returns the delay, or null when stopping. */
  private scheduleRestart(ranLongEnough: boolean): number | null {
    if (this.stopping) return null;
    this.consecutiveFailures = ranLongEnough ? 1 : this.consecutiveFailures + 1;
    const delay = backoffDelay(this.consecutiveFailures, this.opts.backoff);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts += 1;
      this.spawnChild();
    }, delay);
    return delay;
  }

  /** Consecutive runs that died young; 0 after a healthy run resets it (`markHealthy`). */
  get failures(): number {
    return this.consecutiveFailures;
  }

  /** The child answered its health check: a later crash starts the backoff from the beginning. */
  markHealthy(): void {
    this.consecutiveFailures = 0;
  }

  /**
   * Stop for good: no more restarts; SIGTERM the child, SIGKILL it (by PID) if it has not exited after
   * `timeoutMs`. Resolves once it is gone. Returns true when it stopped by itself.
   */
  async stop(timeoutMs = 15_000): Promise<boolean> {
    this.stopping = true;
    if (this.restartTimer !== undefined) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    const pid = this.pid;
    if (pid === undefined || this.exited === undefined) return true;
    this.log('info', `stopping ${this.name} (pid ${pid})`, { pid });
    signal(pid, 'SIGTERM');
    let graceful = true;
    const timer = setTimeout(() => {
      graceful = false;
      this.log('warn', `${this.name} did not stop within ${timeoutMs} ms; killing pid ${pid}`, { pid });
      signal(pid, 'SIGKILL');
    }, timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return graceful;
  }

  /** Kill at once (second Ctrl-C): SIGKILL by PID, no restarts. */
  kill(): void {
    this.stopping = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    const pid = this.pid;
    if (pid !== undefined) signal(pid, 'SIGKILL');
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
