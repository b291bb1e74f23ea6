import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileMatcher, literalPrefix } from './glob.js';
import { globIncluded, globsIntersect } from './glob-algebra.js';
import { referenceGlobMatch } from './reference.js';

test('* crosses : and /, ? is one character, the rest is literal', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*', '', true],
    ['*', 'a:b/c', true],
    ['vpc:*', 'vpc:vpcs:list', true],
    ['vpc:*', 'vpcx:vpcs:list', false],
    ['*:*:list', 'a:b:list', true],
    ['*:*:list', 'a:b:get', false],
    ['prn:*:org-1:*', 'prn:vpc:org-1:p:vpcs/1', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a.c', 'abc', false],
    ['(x)+[y]', '(x)+[y]', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXcYb', false],
  ];
  for (const [p, s, want] of cases) {
    assert.equal(compileMatcher(p)(s), want, `${p} ~ ${s}`);
    assert.equal(referenceGlobMatch(p, s), want, `reference ${p} ~ ${s}`);
  }
  assert.equal(compileMatcher(['a', 'b*'])('bz'), true);
  assert.equal(literalPrefix('vpc:*:x'), 'vpc:');
});

test('globIncluded decides inclusion exactly', () => {
  assert.equal(globIncluded(['vpc:vpcs:list'], ['vpc:*']), true);
  assert.equal(globIncluded(['vpc:*'], ['*']), true);
  assert.equal(globIncluded(['*'], ['vpc:*']), false);
  assert.equal(globIncluded(['a*'], ['a?*']), false, "'a' is in a* but not in a?*");
  assert.equal(globIncluded(['a?*'], ['a*']), true);
  assert.equal(globIncluded(['*:*:list'], ['*:list']), true);
  assert.equal(globIncluded(['*:list'], ['*:*:list']), false);
  assert.equal(globIncluded(['*', 'prn:*:o:p:*'], ['prn:*:o:*']), true, 'intersection is included');
  assert.equal(globIncluded(['*', 'prn:*:o:p:*'], ['prn:*:x:*']), false);
  assert.equal(globIncluded(['a*'], ['a', 'a?*']), true, 'covered by the union');
});

test('globsIntersect', () => {
  assert.equal(globsIntersect(['vpc:*', '*:list']), true);
  assert.equal(globsIntersect(['vpc:*', 'iam:*']), false);
  assert.equal(globsIntersect(['a?', 'a']), false);
  assert.equal(globsIntersect(['*x*', '*y*', 'ab*']), true);
});
