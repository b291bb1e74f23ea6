import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '@photoncloud/errors';
import { linkHeader, parsePage } from './pagination.js';

test('parsePage: defaults, strings and numbers, custom limits', () => {
  assert.deepEqual(parsePage({}), { limit: 20, offset: 0 });
  assert.deepEqual(parsePage(undefined), { limit: 20, offset: 0 });
  assert.deepEqual(parsePage({ limit: '5', offset: '10' }), { limit: 5, offset: 10 });
  assert.deepEqual(parsePage({ limit: 7 }), { limit: 7, offset: 0 });
  assert.deepEqual(parsePage({ limit: '1000' }, { defaultLimit: 50, maxLimit: 1000 }), {
    limit: 1000,
    offset: 0,
  });
  assert.deepEqual(parsePage({}, { defaultLimit: 50, maxLimit: 1000 }), { limit: 50, offset: 0 });
});

test('parsePage: bad values are VALIDATION_ERRORs naming the parameter', () => {
  const cases: Array<[Record<string, unknown>, string, string]> = [
    [{ limit: '0' }, 'limit', 'minimum'],
    [{ limit: '101' }, 'limit', 'maximum'],
    [{ limit: 'ten' }, 'limit', 'type'],
    [{ limit: ['1', '2'] }, 'limit', 'type'],
    [{ limit: '1e3' }, 'limit', 'type'],
    [{ offset: '-5' }, 'offset', 'minimum'],
    [{ offset: '99999999999999999999' }, 'offset', 'type'],
    [{ limit: 2.5 }, 'limit', 'type'],
  ];
  for (const [q, field, constraint] of cases) {
    assert.throws(
      () => parsePage(q),
      (err: unknown) =>
        err instanceof ValidationError && err.field === field && err.constraint === constraint,
      JSON.stringify(q),
    );
  }
});

test('linkHeader keeps other query parameters and omits rels that do not exist', () => {
  assert.equal(
    linkHeader('/api/v1/kv?prefix=user%3A&limit=2', { limit: 2, offset: 2 }, 10),
    '</api/v1/kv?prefix=user%3A&limit=2&offset=4>; rel="next", </api/v1/kv?prefix=user%3A&limit=2&offset=0>; rel="prev"',
  );
  assert.equal(linkHeader('/x', { limit: 20, offset: 0 }, 20), undefined);
  assert.equal(linkHeader('/x', { limit: 20, offset: 0 }, 0), undefined);
  assert.equal(linkHeader('/x?offset=5', { limit: 20, offset: 5 }, 10), '</x?limit=20&offset=0>; rel="prev"');
});
