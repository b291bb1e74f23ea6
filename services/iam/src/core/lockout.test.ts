/** The lockout rule: N consecutive failures lock for a period; an expired lock starts a new count. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterFailure, lockRemainingSeconds } from './lockout.js';
import type { LockoutState } from './lockout.js';

const policy = { maxFailures: 3, lockSeconds: 60 };

test('locks on the Nth consecutive failure, for lockSeconds', () => {
  let s: LockoutState | undefined;
  const t0 = 1_000_000;
  s = afterFailure(s, t0, policy);
  assert.deepEqual(s, { failures: 1 });
  s = afterFailure(s, t0 + 1, policy);
  assert.equal(lockRemainingSeconds(s, t0 + 1), 0);
  s = afterFailure(s, t0 + 2, policy);
  assert.equal(s.locked_until, t0 + 2 + 60_000);
  assert.equal(lockRemainingSeconds(s, t0 + 2), 60);
  assert.equal(lockRemainingSeconds(s, t0 + 2 + 59_500), 1);
  assert.equal(lockRemainingSeconds(s, t0 + 2 + 60_000), 0);
});

test('a failure after the lock expired starts a fresh count', () => {
  const locked: LockoutState = { failures: 0, locked_until: 5000 };
  assert.deepEqual(afterFailure(locked, 6000, policy), { failures: 1 });
  assert.equal(lockRemainingSeconds(undefined, 0), 0);
});
