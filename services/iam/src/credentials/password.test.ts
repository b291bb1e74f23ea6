/** argon2id with OWASP's parameters (m=19456 KiB, t=2, p=1). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARGON2_PARAMS, hashPassword, needsRehash, verifyPassword } from './password.js';

test('hashes are argon2id v19 with m=19456, t=2, p=1 and a random salt', async () => {
  const a = await hashPassword('correct horse battery staple');
  const b = await hashPassword('correct horse battery staple');
  assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.notEqual(a, b, 'salts differ');
  assert.equal(ARGON2_PARAMS.memoryCost, 19_456);
  assert.equal(ARGON2_PARAMS.timeCost, 2);
  assert.equal(ARGON2_PARAMS.parallelism, 1);
});

test('verifyPassword: right password, wrong password, malformed hash', async () => {
  const h = await hashPassword('s3cret-password!');
  assert.equal(await verifyPassword(h, 's3cret-password!'), true);
  assert.equal(await verifyPassword(h, 's3cret-password?'), false);
  assert.equal(await verifyPassword('not-a-hash', 'x'), false);
});

test('needsRehash flags weaker parameters and other algorithms', async () => {
  assert.equal(needsRehash(await hashPassword('x'.repeat(12))), false);
  assert.equal(needsRehash('$argon2id$v=19$m=4096,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA'), true);
  assert.equal(needsRehash('$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA'), true);
  assert.equal(needsRehash('$2b$10$abcdefghijklmnopqrstuu'), true);
});
