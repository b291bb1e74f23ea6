import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthzRequest, Policy, Rule } from '../types.js';
import { BUILTIN_POLICIES } from '../builtin.js';
import { PolicySet, evaluate } from './evaluate.js';
import { referenceEvaluate } from './reference.js';

const T = '2026-01-01T00:00:00Z';
const pol = (id: string, rules: Rule[]): Policy => ({ id, name: id, rules, created_at: T, updated_at: T });
const req = (action: string, resource: string, roles: string[] = []): AuthzRequest => ({
  action,
  resource,
  context: { user: { id: 'u', roles } },
});

test('explicit deny beats allow beats implicit deny', () => {
  const ps = [
    pol('p1', [{ effect: 'Allow', action: 'vpc:*', resource: '*' }]),
    pol('p2', [
      { effect: 'Allow', action: '*', resource: 'prn:vpc:o:p:*' },
      { effect: 'Deny', action: 'vpc:vpcs:delete', resource: '*' },
    ]),
  ];
  assert.deepEqual(evaluate(ps, req('vpc:vpcs:list', 'prn:vpc:o:p:vpcs/*')), {
    decision: 'allow',
    reason: 'allow',
    matched: { policy_id: 'p1', rule_index: 0 },
  });
  assert.deepEqual(evaluate(ps, req('vpc:vpcs:delete', 'prn:vpc:o:p:vpcs/1')), {
    decision: 'deny',
    reason: 'explicit-deny',
    matched: { policy_id: 'p2', rule_index: 1 },
  });
  assert.deepEqual(evaluate(ps, req('iam:users:list', 'prn:iam:o:p:users/*')), {
    decision: 'deny',
    reason: 'implicit-deny',
  });
  assert.deepEqual(evaluate([], req('a:b:c', 'x')), { decision: 'deny', reason: 'implicit-deny' });
});

test('conditions gate rules; a broken condition never matches (allow or deny)', () => {
  const ps = [
    pol('p', [
      { effect: 'Allow', action: '*', resource: '*', condition: "user.role == 'admin'" },
      { effect: 'Deny', action: '*', resource: '*', condition: 'user.role ==' },
    ]),
  ];
  assert.equal(evaluate(ps, req('a:b:c', 'r', ['admin'])).decision, 'allow');
  assert.equal(evaluate(ps, req('a:b:c', 'r', ['dev'])).reason, 'implicit-deny');
});

test('list patterns and malformed rules', () => {
  const ps = [
    pol('p', [
      { effect: 'Allow', action: ['vpc:vpcs:list', 'iam:*'], resource: ['prn:vpc:*', 'prn:iam:*'] },
      { effect: 'Allow', action: [], resource: '*' },
      { effect: 'Maybe' as 'Allow', action: '*', resource: '*' },
    ]),
  ];
  assert.equal(evaluate(ps, req('vpc:vpcs:list', 'prn:vpc:o:p:vpcs/*')).decision, 'allow');
  assert.equal(evaluate(ps, req('iam:users:get', 'prn:iam:o:p:users/1')).decision, 'allow');
  assert.equal(evaluate(ps, req('vpc:vpcs:delete', 'prn:vpc:o:p:vpcs/1')).decision, 'deny');
});

test('built-in roles: editor may not manage IAM access objects, viewer only reads', () => {
  const editor = [BUILTIN_POLICIES['builtin-editor'] as Policy];
  const viewer = [BUILTIN_POLICIES['builtin-viewer'] as Policy];
  assert.equal(evaluate(editor, req('plasmavmc:vms:start', 'prn:plasmavmc:o:p:vms/1')).decision, 'allow');
  assert.equal(evaluate(editor, req('iam:users:create', 'prn:iam:o:p:users/*')).decision, 'allow');
  assert.equal(evaluate(editor, req('iam:policies:create', 'prn:iam:o:p:policies/*')).decision, 'deny');
  assert.equal(evaluate(editor, req('iam:bindings:delete', 'prn:iam:o:p:bindings/b')).decision, 'deny');
  assert.equal(evaluate(editor, req('iam:roles:get', 'prn:iam:o:p:roles/r')).decision, 'allow');
  assert.equal(evaluate(viewer, req('vpc:vpcs:list', 'prn:vpc:o:p:vpcs/*')).decision, 'allow');
  assert.equal(evaluate(viewer, req('vpc:vpcs:get', 'prn:vpc:o:p:vpcs/1')).decision, 'allow');
  assert.equal(evaluate(viewer, req('vpc:vpcs:create', 'prn:vpc:o:p:vpcs/*')).decision, 'deny');
});

test('the index finds rules in every bucket and agrees with the reference on first-match order', () => {
  const ps = [
    pol('a', [{ effect: 'Allow', action: 'v*', resource: '*' }]),
    pol('b', [{ effect: 'Allow', action: 'vpc:*', resource: '*' }]),
    pol('c', [
      { effect: 'Allow', action: ['vpc:x', '*'], resource: '*' },
      { effect: 'Deny', action: 'vpc', resource: '*' },
    ]),
  ];
  const set = new PolicySet(ps);
  for (const a of ['vpc:x', 'vpc', 'vx', 'q', 'vpc:vpcs:get']) {
    assert.deepEqual(set.evaluate(req(a, 'r')), referenceEvaluate(ps, req(a, 'r')), a);
  }
  assert.equal(set.size, 4);
});
