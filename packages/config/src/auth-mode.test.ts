import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAuthMode, resolveAuthMode } from './auth-mode.js';
import { ConfigError } from './config-error.js';

test('loopback defaults to local, anything else is forced to required', () => {
  assert.deepEqual(
    { mode: resolveAuthMode('127.0.0.1').mode, forced: resolveAuthMode('127.0.0.1').forced },
    { mode: 'local', forced: false },
  );
  const wide = resolveAuthMode('0.0.0.0');
  assert.equal(wide.mode, 'required');
  assert.equal(wide.forced, true);
  assert.match(wide.reason, /0\.0\.0\.0 is not loopback/);
  assert.equal(resolveAuthMode('10.1.2.3').mode, 'required');
});

test('required may be asked for on loopback; local is refused elsewhere', () => {
  assert.equal(resolveAuthMode('::1', 'required').mode, 'required');
  assert.throws(
    () => resolveAuthMode('0.0.0.0', 'local'),
    (e: unknown) => e instanceof ConfigError && /only allowed when listening on loopback/.test(e.message),
  );
});

test('parseAuthMode', () => {
  assert.equal(parseAuthMode('LOCAL'), 'local');
  assert.equal(parseAuthMode('required'), 'required');
  assert.throws(() => parseAuthMode('open'), /not an auth mode/);
});
