import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyValue } from '@photoncloud/store';
import { compareHolds } from './compare.js';
import type { NormCompare } from './requests.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const kv = (key: string, over: Partial<KeyValue> = {}): KeyValue => ({
  key: b(key),
  value: b('v'),
  createRevision: 3,
  modRevision: 5,
  version: 2,
  lease: '0',
  ...over,
});
const cmp = (
  target: NormCompare['target'],
  result: NormCompare['result'],
  operand: NormCompare['operand'],
): NormCompare => ({
  key: b('k'),
  rangeEnd: new Uint8Array(0),
  target,
  result,
  operand,
});

test('each target and result compares kv.field against the operand', () => {
  const k = [kv('k')];
  assert.equal(compareHolds(cmp('version', 'equal', 2), k), true);
  assert.equal(compareHolds(cmp('version', 'greater', 1), k), true);
  assert.equal(compareHolds(cmp('version', 'less', 2), k), false);
  assert.equal(compareHolds(cmp('version', 'not_equal', 3), k), true);
  assert.equal(compareHolds(cmp('create', 'equal', 3), k), true);
  assert.equal(compareHolds(cmp('mod', 'less', 6), k), true);
  assert.equal(compareHolds(cmp('value', 'equal', b('v')), k), true);
  assert.equal(compareHolds(cmp('value', 'greater', b('u')), k), true);
  assert.equal(compareHolds(cmp('value', 'less', b('va')), k), true);
  assert.equal(compareHolds(cmp('lease', 'equal', '0'), k), true);
  assert.equal(compareHolds(cmp('lease', 'greater', '-1'), k), true);
  assert.equal(
    compareHolds(cmp('lease', 'less', '9223372036854775807'), [kv('k', { lease: '9223372036854775806' })]),
    true,
  );
});

test('missing keys: zero KeyValue, except value compares which always fail', () => {
  assert.equal(compareHolds(cmp('version', 'equal', 0), []), true);
  assert.equal(compareHolds(cmp('create', 'equal', 0), []), true);
  assert.equal(compareHolds(cmp('mod', 'less', 1), []), true);
  assert.equal(compareHolds(cmp('lease', 'equal', '0'), []), true);
  assert.equal(compareHolds(cmp('value', 'equal', new Uint8Array(0)), []), false);
  assert.equal(compareHolds(cmp('value', 'not_equal', b('x')), []), false);
});

test('ranged compares hold only when every key satisfies them', () => {
  const kvs = [kv('a', { version: 1 }), kv('b', { version: 3 })];
  assert.equal(compareHolds(cmp('version', 'greater', 0), kvs), true);
  assert.equal(compareHolds(cmp('version', 'greater', 1), kvs), false);
  assert.equal(compareHolds(cmp('version', 'not_equal', 2), kvs), true);
});
