import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listPage, successor } from './listing.js';
import type { Scan } from './listing.js';

const KEYS = ['a', 'b/1', 'b/2', 'b/3/x', 'c', 'd/1', 'e'];
const scan: Scan<number> = (from) => KEYS.filter((k) => k >= from).map((k, i) => [k, i] as const);

function keys(p: ReturnType<typeof listPage<number>>): string[] {
  return p.contents.map(([k]) => k);
}

test('successor is the smallest string after every extension', () => {
  assert.equal(successor('b/'), 'b0');
  assert.equal(successor(''), '');
});

test('flat listing with prefix and max-keys', () => {
  const p = listPage(scan, { prefix: 'b/', delimiter: '', maxKeys: 2, after: '' });
  assert.deepEqual(keys(p), ['b/1', 'b/2']);
  assert.equal(p.truncated, true);
  assert.equal(p.last, 'b/2');
  const next = listPage(scan, { prefix: 'b/', delimiter: '', maxKeys: 2, after: 'b/2' });
  assert.deepEqual(keys(next), ['b/3/x']);
  assert.equal(next.truncated, false);
});

test('delimiter rolls keys up into common prefixes counted against max-keys', () => {
  const p = listPage(scan, { prefix: '', delimiter: '/', maxKeys: 1000, after: '' });
  assert.deepEqual(keys(p), ['a', 'c', 'e']);
  assert.deepEqual(p.commonPrefixes, ['b/', 'd/']);
  const paged: string[] = [];
  let after = '';
  for (let i = 0; i < 10; i++) {
    const page = listPage(scan, { prefix: '', delimiter: '/', maxKeys: 2, after });
    paged.push(...page.commonPrefixes, ...keys(page));
    if (!page.truncated) break;
    after = page.last as string;
  }
  assert.deepEqual(paged.sort(), ['a', 'b/', 'c', 'd/', 'e']);
});

test('a marker equal to a common prefix resumes after everything under it', () => {
  const p = listPage(scan, { prefix: '', delimiter: '/', maxKeys: 10, after: 'b/' });
  assert.deepEqual(keys(p), ['c', 'e']);
  assert.deepEqual(p.commonPrefixes, ['d/']);
});

test('max-keys 0 is an empty untruncated page', () => {
  const p = listPage(scan, { prefix: '', delimiter: '', maxKeys: 0, after: '' });
  assert.deepEqual(keys(p), []);
  assert.equal(p.truncated, false);
});
