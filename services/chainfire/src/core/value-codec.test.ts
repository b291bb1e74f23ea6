import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, decodeValue, encodeValue } from './value-codec.js';
import type { Codable } from './value-codec.js';

test('round-trips every supported kind, nested', () => {
  const samples: Codable[] = [
    null,
    true,
    false,
    0,
    1,
    127,
    128,
    300,
    2 ** 53 - 1,
    -1,
    -(2 ** 53 - 1),
    1.5,
    -0.25,
    Number.MAX_VALUE,
    '',
    'ascii',
    'ünïcødé ✓',
    'x'.repeat(1000),
    new Uint8Array([0, 1, 255]),
    new Uint8Array(0),
    [],
    [1, 'a', [new Uint8Array([9])]],
    {
      op: 'put',
      req: { key: new Uint8Array([1, 2]), value: new Uint8Array(70000).fill(3), lease: '0', prevKv: false },
    },
  ];
  for (const v of samples) assert.deepEqual(decodeValue(encodeValue(v)), v, JSON.stringify(v)?.slice(0, 60));
});

test('object keys with undefined values are dropped; -0 stays a float', () => {
  assert.deepEqual(decodeValue(encodeValue({ a: 1, b: undefined })), { a: 1 });
  assert.ok(Object.is(decodeValue(encodeValue(-0)), -0));
  assert.equal(decodeValue(encodeValue(undefined)), undefined);
});

test('malformed input throws CodecError, never something else', () => {
  const good = encodeValue({ key: new Uint8Array([1, 2, 3]), list: [1, 2, 'three'] });
  for (let cut = 0; cut < good.length; cut++) {
    assert.throws(() => decodeValue(good.subarray(0, cut)), CodecError, `cut at ${cut}`);
  }
  assert.throws(() => decodeValue(new Uint8Array([99])), CodecError);
  assert.throws(() => decodeValue(new Uint8Array([...good, 0])), CodecError);
  assert.throws(
    () => decodeValue(new Uint8Array([4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
    CodecError,
  );
});
