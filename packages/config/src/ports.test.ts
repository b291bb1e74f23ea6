import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from './config-error.js';
import { mergePortOverrides, parsePort, parsePortOffset, parsePortOverrides } from './ports.js';

test('parsePort accepts 1..65535 and 0 only when allowed', () => {
  assert.equal(parsePort('8081', '--http-port'), 8081);
  assert.equal(parsePort(' 65535 ', 'p'), 65535);
  assert.equal(parsePort('0', 'p', { allowZero: true }), 0);
  assert.throws(
    () => parsePort('0', '--http-port'),
    (e: unknown) => e instanceof ConfigError && /--http-port: 0 is out of range/.test(e.message),
  );
  assert.throws(() => parsePort('65536', 'p'), ConfigError);
  for (const bad of ['', 'abc', '-1', '80.5', '1e3', '123456']) {
    assert.throws(() => parsePort(bad, 'p'), ConfigError, `"${bad}" must be rejected`);
  }
});

test('parsePortOffset accepts signed integers within range', () => {
  assert.equal(parsePortOffset('1000'), 1000);
  assert.equal(parsePortOffset('-5'), -5);
  assert.throws(() => parsePortOffset('ten'), ConfigError);
  assert.throws(() => parsePortOffset('70000'), ConfigError);
});

test('parsePortOverrides reads service.listener=port lists', () => {
  const m = parsePortOverrides(' chainfire.http=18081, chainfire.grpc=15051 ,', '--ports');
  assert.deepEqual(
    [...m],
    [
      ['chainfire.http', 18081],
      ['chainfire.grpc', 15051],
    ],
  );
  assert.equal(parsePortOverrides('', 'x').size, 0);
  assert.throws(() => parsePortOverrides('chainfire.http', '--ports'), /not service.listener=port/);
  assert.throws(() => parsePortOverrides('chainfire=1', '--ports'), /not service.listener/);
  assert.throws(() => parsePortOverrides('chainfire.http=1,chainfire.http=2', '--ports'), /given twice/);
  assert.throws(
    () => parsePortOverrides('chainfire.http=99999', 'PHOTONCLOUD_PORTS'),
    /PHOTONCLOUD_PORTS chainfire.http: 99999 is out of range/,
  );
});

test('mergePortOverrides lets later sources win', () => {
  const merged = mergePortOverrides(
    parsePortOverrides('a.http=1,a.grpc=2', 'env'),
    parsePortOverrides('a.http=3', 'flag'),
  );
  assert.equal(merged.get('a.http'), 3);
  assert.equal(merged.get('a.grpc'), 2);
});
