import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from './crc32c.js';

test('crc32c matches the published check values', () => {
  // RFC 3720 B.4 and the standard "123456789" check value for CRC-32C.
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const inc = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(crc32c(inc), 0x46dd794e);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('crc32c is incremental and honours start/end for every alignment', () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) & 0xff);
  const whole = crc32c(data);
  for (const cut of [0, 1, 3, 7, 8, 9, 500, 999, 1000]) {
    assert.equal(crc32c(data, crc32c(data, 0, 0, cut), cut, data.length), whole, `cut ${cut}`);
  }
  assert.equal(crc32c(data, 0, 10, 20), crc32c(data.subarray(10, 20)));
  const flipped = Uint8Array.from(data);
  flipped[123]! ^= 1;
  assert.notEqual(crc32c(flipped), whole);
});
