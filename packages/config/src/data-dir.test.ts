import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataDirLayout, resolveDataDir } from './data-dir.js';

test('resolveDataDir: flag, then PHOTONCLOUD_DATA_DIR, then ./.data; always absolute', () => {
  const env = { PHOTONCLOUD_DATA_DIR: '/srv/pc' };
  assert.equal(resolveDataDir({ flag: 'rel/dir', env, cwd: '/home/op' }), '/home/op/rel/dir');
  assert.equal(resolveDataDir({ env, cwd: '/home/op' }), '/srv/pc');
  assert.equal(resolveDataDir({ env: { PHOTONCLOUD_DATA_DIR: '  ' }, cwd: '/home/op' }), '/home/op/.data');
  assert.equal(resolveDataDir({ env: {}, cwd: '/home/op' }), '/home/op/.data');
  assert.equal(resolveDataDir({ flag: '/a/../b/', env: {}, cwd: '/x' }), '/b');
  assert.throws(() => resolveDataDir({ flag: '', env: {}, cwd: '/x' }), /empty path/);
});

test('dataDirLayout places logs, run state and per-service dirs', () => {
  const l = dataDirLayout('/d');
  assert.equal(l.upFile, '/d/run/up.json');
  assert.equal(l.logFile('chainfire'), '/d/logs/chainfire.log');
  assert.equal(l.serviceDir('chainfire'), '/d/chainfire');
});
