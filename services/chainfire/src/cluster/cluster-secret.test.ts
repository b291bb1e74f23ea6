import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { peerHost } from '../grpc/grpc-auth.js';
import {
  ClusterSecretError,
  isValidClusterSecret,
  loadClusterSecret,
  readClusterSecret,
  saveClusterSecret,
  sameSecret,
} from './cluster-secret.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'cf-secret-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a new cluster gets a fresh random secret, saved 0600 and read back', () => {
  withDir((dir) => {
    const a = loadClusterSecret(dir, undefined, false);
    assert.equal(a.saved, false);
    assert.ok(isValidClusterSecret(a.secret));
    withDir((other) => assert.notEqual(loadClusterSecret(other, undefined, false).secret, a.secret));
    saveClusterSecret(dir, a.secret);
    assert.equal(statSync(path.join(dir, 'cluster-secret')).mode & 0o777, 0o600);
    assert.deepEqual(loadClusterSecret(dir, undefined, false), { secret: a.secret, saved: true });
    assert.deepEqual(loadClusterSecret(dir, a.secret, true), { secret: a.secret, saved: true });
  });
});

test('a joiner needs a secret; a given one must match the saved one and have a token shape', () => {
  withDir((dir) => {
    assert.throws(() => loadClusterSecret(dir, undefined, true), ClusterSecretError);
    assert.throws(() => loadClusterSecret(dir, 'has spaces in it, too long', false), /16 to 512/);
    assert.throws(() => loadClusterSecret(dir, 'short', true), /16 to 512/);
    const given = 'joiner-secret-0123456789';
    assert.deepEqual(loadClusterSecret(dir, given, true), { secret: given, saved: false });
    // Not saved by loading: a failed join leaves nothing behind.
    assert.equal(readClusterSecret(dir), undefined);
    saveClusterSecret(dir, given);
    assert.throws(() => loadClusterSecret(dir, 'another-secret-0123456789', true), /differs/);
  });
});

test('a damaged secret file is an error, not a new secret', () => {
  withDir((dir) => {
    writeFileSync(path.join(dir, 'cluster-secret'), 'bad secret\n');
    assert.throws(() => loadClusterSecret(dir, undefined, false), /does not hold a valid cluster secret/);
  });
});

test('sameSecret compares whole strings', () => {
  assert.equal(sameSecret('abcdefghijklmnop', 'abcdefghijklmnop'), true);
  assert.equal(sameSecret('abcdefghijklmnop', 'abcdefghijklmnoq'), false);
  assert.equal(sameSecret('abcdefghijklmnop', 'abcdefghijklmnopq'), false);
});

test('peerHost takes the address out of grpc-js peer strings', () => {
  assert.equal(peerHost('127.0.0.1:4242'), '127.0.0.1');
  assert.equal(peerHost('::1:4242'), '::1');
  assert.equal(peerHost('[::1]:4242'), '::1');
  assert.equal(peerHost('::ffff:127.0.0.1:80'), '::ffff:127.0.0.1');
  assert.equal(peerHost('unknown'), undefined);
});
