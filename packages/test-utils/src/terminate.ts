/**
 * Stop a child process we started: send `signal` to its PID, escalate to SIGKILL after `graceMs`, and
 * resolve once it has exited. Signalling a PID that is already gone is not an error.
 */
export async function terminate(
  pid: number,
  exit: Promise<unknown>,
  opts: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<void> {
  const { signal = 'SIGTERM', graceMs = 5_000 } = opts;
  const send = (s: NodeJS.Signals): void => {
    try {
      process.kill(pid, s);
    } catch {
      // Already gone.
    }
  };
  send(signal);
  const timer = setTimeout(() => send('SIGKILL'), graceMs);
  try {
    await exit;
  } finally {
    clearTimeout(timer);
  }
}
