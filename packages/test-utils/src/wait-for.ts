/** Bounded polling: wait for a condition without unbounded loops or timing assertions. */
import { setTimeout as sleep } from 'node:timers/promises';

/** Options for `waitFor`. */
export interface WaitForOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** Included in the timeout error, to say what was awaited. */
  what?: string;
}

/**
 * Call `fn` until it returns a value other than `undefined`, `null` or `false`, and return that value.
 * A throwing `fn` counts as "not yet"; its last error is reported when the time runs out.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' }: WaitForOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as Exclude<T, undefined | null | false>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const suffix = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms${suffix}`);
    }
    await sleep(intervalMs);
  }
}
