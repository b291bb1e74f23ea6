import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Policy, Rule } from '../types.js';
import { BUILTIN_POLICIES } from '../builtin.js';
import { canGrant } from './escalation.js';

const T = '2026-01-01T00:00:00Z';
const pol = (rules: Rule[]): Policy => ({ id: 'g', name: 'g', rules, created_at: T, updated_at: T });
const admin = [BUILTIN_POLICIES['builtin-admin'] as Policy];
const editor = [BUILTIN_POLICIES['builtin-editor'] as Policy];
const viewer = [BUILTIN_POLICIES['builtin-viewer'] as Policy];
const viewerRules = (BUILTIN_POLICIES['builtin-viewer'] as Policy).rules;

test('an admin may grant anything', () => {
  assert.deepEqual(canGrant(admin, [{ effect: 'Allow', action: '*', resource: '*' }], {}), { ok: true });
  assert.deepEqual(canGrant(admin, viewerRules, { org_id: 'o', project_id: 'p' }), { ok: true });
});

test('nobody grants what they do not hold', () => {
  const r = canGrant(viewer, [{ effect: 'Allow', action: 'vpc:vpcs:create', resource: '*' }], {});
  assert.equal(r.ok, false);
  assert.deepEqual(
    canGrant(viewer, viewerRules, {}),
    { ok: true },
    'a viewer holds exactly the viewer rules',
  );
  assert.deepEqual(
    canGrant(viewer, [{ effect: 'Allow', action: 'vpc:vpcs:list', resource: 'prn:vpc:*' }], {}),
    { ok: true },
  );
  assert.equal(canGrant([], viewerRules, {}).ok, false);
});

test('granted lists must be covered element by element', () => {
  const g = [pol([{ effect: 'Allow', action: ['vpc:*', 'dns:*'], resource: '*' }])];
  assert.equal(
    canGrant(g, [{ effect: 'Allow', action: ['vpc:vpcs:list', 'dns:zones:get'], resource: '*' }], {}).ok,
    true,
  );
  assert.equal(
    canGrant(g, [{ effect: 'Allow', action: ['vpc:vpcs:list', 'iam:users:get'], resource: '*' }], {}).ok,
    false,
  );
  assert.equal(
    canGrant(g, [{ effect: 'Allow', action: 'v*', resource: '*' }], {}).ok,
    false,
    'v* is wider than vpc:*',
  );
});

test('the scope narrows what a granted rule reaches', () => {
  const projectOnly = [pol([{ effect: 'Allow', action: '*', resource: 'prn:*:o1:p1:*' }])];
  const wide: Rule[] = [{ effect: 'Allow', action: 'vpc:*', resource: '*' }];
  assert.equal(canGrant(projectOnly, wide, { org_id: 'o1', project_id: 'p1' }).ok, true);
  assert.equal(canGrant(projectOnly, wide, { org_id: 'o1', project_id: 'p2' }).ok, false);
  assert.equal(canGrant(projectOnly, wide, {}).ok, false, 'platform-wide is wider than the project');
});

test('Deny rules of the granter and conditions are handled conservatively', () => {
  const withDeny = [
    pol([
      { effect: 'Allow', action: '*', resource: '*' },
      { effect: 'Deny', action: 'iam:*', resource: '*' },
    ]),
  ];
  assert.equal(canGrant(withDeny, [{ effect: 'Allow', action: 'vpc:*', resource: '*' }], {}).ok, true);
  assert.equal(canGrant(withDeny, [{ effect: 'Allow', action: '*', resource: '*' }], {}).ok, false);
  assert.equal(
    canGrant(withDeny, [{ effect: 'Allow', action: 'iam:users:list', resource: '*' }], {}).ok,
    false,
  );
  // Conditional allows cover only the same condition.
  const cond = "user.role == 'ops'";
  const conditional = [pol([{ effect: 'Allow', action: '*', resource: '*', condition: cond }])];
  assert.equal(canGrant(conditional, [{ effect: 'Allow', action: 'vpc:*', resource: '*' }], {}).ok, false);
  assert.equal(
    canGrant(conditional, [{ effect: 'Allow', action: 'vpc:*', resource: '*', condition: cond }], {}).ok,
    true,
  );
  // The editor cannot hand out IAM management (its Allow * is conditional).
  assert.equal(
    canGrant(editor, [{ effect: 'Allow', action: 'iam:policies:create', resource: '*' }], {}).ok,
    false,
  );
  assert.equal(canGrant(editor, [{ effect: 'Allow', action: 'iam:users:list', resource: '*' }], {}).ok, true);
  // Granting denies adds no power.
  assert.deepEqual(canGrant([], [{ effect: 'Deny', action: '*', resource: '*' }], {}), { ok: true });
  const bad = canGrant(admin, [{ effect: 'Allow', action: 42 as unknown as string, resource: '*' }], {});
  assert.equal(bad.ok, false);
});
