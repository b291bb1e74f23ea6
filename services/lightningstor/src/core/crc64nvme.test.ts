import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc64nvme } from './crc64nvme.js';

test('crc64nvme: check value and incremental use', () => {
  const data = new TextEncoder().encode('123456789');
  assert.deepEqual(crc64nvme(data), [0xae8b1486, 0x0a799888]);
  assert.deepEqual(crc64nvme(data.subarray(4), crc64nvme(data.subarray(0, 4))), [0xae8b1486, 0x0a799888]);
  assert.deepEqual(crc64nvme(new Uint8Array(0)), [0, 0]);
});
