import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etagMatches, evaluatePreconditions } from './conditions.js';

const obj = { etag: '"abc"', lastModified: Date.parse('2024-01-02T03:04:05.678Z') };

test('etagMatches: quoted, unquoted, weak, lists and *', () => {
  assert.ok(etagMatches('"abc"', '"abc"'));
  assert.ok(etagMatches('abc', '"abc"'));
  assert.ok(etagMatches('W/"abc"', '"abc"'));
  assert.ok(etagMatches('"x", "abc"', '"abc"'));
  assert.ok(etagMatches('*', '"abc"'));
  assert.ok(!etagMatches('"abd"', '"abc"'));
});

test('evaluatePreconditions follows RFC 9110 precedence', () => {
  assert.equal(evaluatePreconditions({}, obj), 'ok');
  assert.equal(evaluatePreconditions({ ifMatch: '"nope"' }, obj), 'failed');
  assert.equal(evaluatePreconditions({ ifMatch: '"abc"' }, obj), 'ok');
  // If-Match wins over If-Unmodified-Since.
  assert.equal(
    evaluatePreconditions({ ifMatch: '"abc"', ifUnmodifiedSince: 'Mon, 01 Jan 2024 00:00:00 GMT' }, obj),
    'ok',
  );
  assert.equal(evaluatePreconditions({ ifUnmodifiedSince: 'Mon, 01 Jan 2024 00:00:00 GMT' }, obj), 'failed');
  assert.equal(evaluatePreconditions({ ifNoneMatch: '"abc"' }, obj), 'not-modified');
  // Second resolution: modified at 03:04:05 is not after 03:04:05.
  assert.equal(
    evaluatePreconditions({ ifModifiedSince: 'Tue, 02 Jan 2024 03:04:05 GMT' }, obj),
    'not-modified',
  );
  assert.equal(evaluatePreconditions({ ifModifiedSince: 'Tue, 02 Jan 2024 03:04:04 GMT' }, obj), 'ok');
  // If-None-Match wins over If-Modified-Since.
  assert.equal(
    evaluatePreconditions({ ifNoneMatch: '"x"', ifModifiedSince: 'Tue, 02 Jan 2030 00:00:00 GMT' }, obj),
    'ok',
  );
  assert.equal(evaluatePreconditions({ ifModifiedSince: 'not a date' }, obj), 'ok');
});
