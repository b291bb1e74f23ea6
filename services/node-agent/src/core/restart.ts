/**
 * Container lifecycle decisions, pure, as Kubernetes defines them for a one-container pod:
 * after an exit, restart or finish per restartPolicy; back off between restarts; phase from state.
 */

/** A restart policy. */
export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** What to do after the container exited. */
export type ExitDecision = { action: 'restart' } | { action: 'finish'; phase: 'Succeeded' | 'Failed' };

/** Decide after an exit with `exitCode`. */
export function afterExit(policy: RestartPolicy, exitCode: number): ExitDecision {
  if (policy === 'Always') return { action: 'restart' };
  if (policy === 'OnFailure' && exitCode !== 0) return { action: 'restart' };
  return { action: 'finish', phase: exitCode === 0 ? 'Succeeded' : 'Failed' };
}

/** Delay before restart number `restarts + 1`: base × 2^restarts, capped (Kubernetes: 10 s … 5 min). */
export function restartBackoffMs(restarts: number, baseMs = 1000, capMs = 60_000): number {
  const d = baseMs * 2 ** Math.min(restarts, 30);
  return Math.min(d, capMs);
}
