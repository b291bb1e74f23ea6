import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange } from './range.js';
import type { S3Error } from './s3-error.js';

test('parseRange: first-last, open-ended, suffix, clamping', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-1000', 100), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=50-1000', 100), { start: 50, end: 99 });
});

test('parseRange: headers S3 ignores serve the whole object', () => {
  for (const h of [undefined, 'items=0-1', 'bytes=0-1,5-6', 'bytes=5-1', 'bytes=-', 'garbage']) {
    assert.equal(parseRange(h, 100), undefined, String(h));
  }
});

test('parseRange: unsatisfiable ranges are InvalidRange with Content-Range', () => {
  for (const [h, size] of [
    ['bytes=100-', 100],
    ['bytes=0-', 0],
    ['bytes=-0', 10],
  ] as const) {
    assert.throws(
      () => parseRange(h, size),
      (e: S3Error) =>
        e.code === 'InvalidRange' && e.status === 416 && e.headers['Content-Range'] === `bytes */${size}`,
    );
  }
});
