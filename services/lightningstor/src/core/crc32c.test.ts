import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from './crc32c.js';

test('crc32c: check value and incremental use', () => {
  const data = new TextEncoder().encode('123456789');
  assert.equal(crc32c(data), 0xe3069283);
  assert.equal(crc32c(data.subarray(5), crc32c(data.subarray(0, 5))), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  // 32 zero bytes: RFC 3720 B.4 test vector.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
});
