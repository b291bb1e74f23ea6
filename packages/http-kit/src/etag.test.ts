import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadRequestError } from '@photoncloud/errors';
import { formatETag, ifMatchHolds, ifNoneMatchHolds, parseETagList } from './etag.js';

test('formatETag quotes', () => {
  assert.equal(formatETag(42), '"42"');
});

test('parseETagList: *, lists, weak tags, bare tokens', () => {
  assert.equal(parseETagList(' * '), '*');
  assert.deepEqual(parseETagList('"1", W/"2" ,"3"'), [
    { weak: false, value: '1' },
    { weak: true, value: '2' },
    { weak: false, value: '3' },
  ]);
  assert.deepEqual(parseETagList('17'), [{ weak: false, value: '17' }]);
  assert.deepEqual(parseETagList('""'), [{ weak: false, value: '' }]);
  for (const bad of ['"open', '"a" "b"', ',', '"a",,"b"', '']) {
    assert.throws(() => parseETagList(bad), BadRequestError, bad);
  }
});

test('If-Match: strong comparison, * needs an existing resource', () => {
  assert.equal(ifMatchHolds('*', '5'), true);
  assert.equal(ifMatchHolds('*', undefined), false);
  assert.equal(ifMatchHolds(parseETagList('"4", "5"') as never, '5'), true);
  assert.equal(ifMatchHolds(parseETagList('W/"5"') as never, '5'), false);
  assert.equal(ifMatchHolds(parseETagList('"5"') as never, undefined), false);
});

test('If-None-Match: * means "must not exist", weak comparison otherwise', () => {
  assert.equal(ifNoneMatchHolds('*', undefined), true);
  assert.equal(ifNoneMatchHolds('*', '1'), false);
  assert.equal(ifNoneMatchHolds(parseETagList('W/"1"') as never, '1'), false);
  assert.equal(ifNoneMatchHolds(parseETagList('"2"') as never, '1'), true);
});
