/**
 * Login lockout rule (pure): after `maxFailures` consecutive failed logins an account is locked for
 * `lockSeconds`; a success resets the count. The state lives in the Store; this only computes it.
 */

/** Stored lockout state of one account. */
export interface LockoutState {
  /** Consecutive failures since the last success (or the last lock). */
  failures: number;
  /** Epoch ms until which logins are refused; absent = not locked. */
  locked_until?: number;
}

/** Lockout settings. */
export interface LockoutPolicy {
  maxFailures: number;
  lockSeconds: number;
}

/** Default: 5 consecutive failures lock the account for 15 minutes. */
export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, lockSeconds: 900 };

/** Seconds left on a lock at `nowMs`, or 0 when logins are allowed. */
export function lockRemainingSeconds(state: LockoutState | undefined, nowMs: number): number {
  if (state?.locked_until === undefined || state.locked_until <= nowMs) return 0;
  return Math.ceil((state.locked_until - nowMs) / 1000);
}

/** The state after one more failure at `nowMs`. */
export function afterFailure(
  state: LockoutState | undefined,
  nowMs: number,
  policy: LockoutPolicy = DEFAULT_LOCKOUT,
): LockoutState {
  // An expired lock starts a fresh count.
  const expired = state?.locked_until !== undefined && state.locked_until <= nowMs;
  const failures = (expired ? 0 : (state?.failures ?? 0)) + 1;
  if (failures >= policy.maxFailures) return { failures: 0, locked_until: nowMs + policy.lockSeconds * 1000 };
  return { failures };
}
