import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseDeadlines } from './lease-deadlines.js';

test('deadlines expire at now + ttl and refresh pushes them out', () => {
  const d = new LeaseDeadlines();
  d.refresh('a', 2, 1000);
  d.refresh('b', 1, 1000);
  assert.deepEqual(d.expired(1999), []);
  assert.deepEqual(d.expired(2000), ['b']);
  assert.equal(d.remainingMs('a', 2500), 500);
  d.refresh('a', 2, 2500);
  assert.deepEqual(d.expired(3100), ['b']);
  assert.deepEqual(d.expired(5000), ['b', 'a'], 'earliest first');
  d.delete('b');
  assert.equal(d.remainingMs('b', 0), undefined);
  assert.ok(d.has('a') && !d.has('b'));
});
