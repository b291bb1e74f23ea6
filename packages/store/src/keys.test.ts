import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, compareBytes, prefixEnd, text } from './keys.js';

test('prefixEnd increments the last byte below 0xff', () => {
  assert.deepEqual(prefixEnd(bytes('user:')), bytes('user;'));
  assert.deepEqual(prefixEnd(Uint8Array.of(0x61, 0xff, 0xff)), Uint8Array.of(0x62));
  assert.deepEqual(prefixEnd(Uint8Array.of(0xff)), Uint8Array.of(0));
  assert.deepEqual(prefixEnd(new Uint8Array()), Uint8Array.of(0));
});

test('compareBytes orders lexicographically with shorter prefixes first', () => {
  assert.ok(compareBytes(bytes('a'), bytes('b')) < 0);
  assert.ok(compareBytes(bytes('ab'), bytes('a')) > 0);
  assert.equal(compareBytes(bytes('x'), bytes('x')), 0);
  assert.equal(text(bytes('héllo')), 'héllo');
});
