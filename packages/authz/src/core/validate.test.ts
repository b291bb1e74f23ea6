import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateRules } from './validate.js';

test('valid rules have no problems', () => {
  assert.deepEqual(
    validateRules([
      { effect: 'Allow', action: ['vpc:*', 'dns:*'], resource: '*', condition: "user.role == 'admin'" },
      { effect: 'Deny', action: 'iam:*', resource: 'prn:iam:*' },
    ]),
    [],
  );
});

test('every problem is reported with its path', () => {
  const problems = validateRules([
    { effect: 'allow', action: '', resource: [], condition: 'user.role = 1' },
    null,
    { effect: 'Deny', action: ['a', 7], resource: 'x'.repeat(2000), condition: 3 },
  ]);
  assert.deepEqual(
    problems.map((p) => p.path),
    [
      '/rules/0/effect',
      '/rules/0/action',
      '/rules/0/resource',
      '/rules/0/condition',
      '/rules/1',
      '/rules/2/action/1',
      '/rules/2/resource',
      '/rules/2/condition',
    ],
  );
  assert.match(problems[3]?.message ?? '', /^Invalid condition: /);
  assert.deepEqual(validateRules('nope'), [{ path: '/rules', message: 'must be a list of rules' }]);
});
