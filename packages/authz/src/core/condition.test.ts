import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateCondition, ipInCidr, validateCondition } from './condition.js';
import type { ConditionInput } from './condition.js';
import { parseResource } from './resource.js';

const inp: ConditionInput = {
  action: 'plasmavmc:vms:start',
  resource: parseResource('prn:plasmavmc:org-1:proj-1:vms/vm-9'),
  context: {
    user: { id: 'u1', roles: ['editor', 'ops'], org_id: 'org-1' },
    request: { method: 'POST', ip: '10.1.2.3', time: '2026-03-01T12:00:00Z' },
  },
};
const ev = (src: string): boolean => evaluateCondition(src, inp);

test('spec example: user.role is true when any role equals', () => {
  assert.equal(ev("user.role == 'editor'"), true);
  assert.equal(ev("user.role == 'ops'"), true);
  assert.equal(ev("user.role == 'admin'"), false);
  assert.equal(ev("user.role != 'admin'"), true);
  assert.equal(ev("user.role != 'ops'"), false);
  assert.equal(ev("user.role in ['admin', 'ops']"), true);
  assert.equal(ev("'ops' in user.roles"), true);
  assert.equal(ev("'root' in user.roles"), false);
});

test('identifiers, literals and operators', () => {
  assert.equal(ev("user.id == 'u1' && resource.type == 'vms' && resource.id == 'vm-9'"), true);
  assert.equal(ev('resource.org_id == user.org_id'), true);
  assert.equal(ev("resource.project_id == 'proj-1' && resource.service == 'plasmavmc'"), true);
  assert.equal(ev("request.method == 'GET' || request.method == 'POST'"), true);
  assert.equal(ev("!(request.method == 'POST')"), false);
  assert.equal(ev("request.time >= '2026-01-01T00:00:00Z' && request.time < '2027-01-01T00:00:00Z'"), true);
  assert.equal(ev('1 < 2 && 2.5 >= 2.5 && -1 < 0'), true);
  assert.equal(ev('true && !false'), true);
  assert.equal(ev("startsWith(request.action, 'plasmavmc:')"), true);
  assert.equal(ev("startsWith(resource.id, 'db-')"), false);
  assert.equal(ev("ipInCidr(request.ip, '10.0.0.0/8')"), true);
  assert.equal(ev("ipInCidr(request.ip, '192.168.0.0/16')"), false);
  assert.equal(ev("'vm' in resource.id"), true);
  assert.equal(ev('"double" == \'double\''), true);
});

test('missing attributes make comparisons false, != included', () => {
  assert.equal(ev("user.project_id == 'proj-1'"), false);
  assert.equal(ev("user.project_id != 'proj-1'"), false);
  assert.equal(ev("1 == '1'"), false);
  assert.equal(ev("1 < 'a'"), false);
  assert.equal(
    evaluateCondition("user.role == 'x'", { action: 'a', resource: undefined, context: undefined }),
    false,
  );
});

test('precedence: && binds tighter than ||, ! tighter than &&', () => {
  assert.equal(ev('true || false && false'), true);
  assert.equal(ev('(true || false) && false'), false);
  assert.equal(ev('!true && false'), false);
  assert.equal(ev('!(true && false)'), true);
});

test('validateCondition rejects bad syntax and unknown names with a message', () => {
  assert.equal(validateCondition("user.role == 'admin'"), null);
  for (const bad of [
    "user.role = 'admin'",
    "user.role == 'admin",
    'user.password == 1',
    'eval(1)',
    "startsWith('a')",
    '(true',
    'true)',
    '',
    'process.exit(1)',
    "user.role == 'a' ;",
    '!'.repeat(100) + 'true',
    'x'.repeat(5000),
  ]) {
    const msg = validateCondition(bad);
    assert.ok(
      typeof msg === 'string' && msg.startsWith('Invalid condition:'),
      `${bad.slice(0, 40)} → ${msg}`,
    );
    assert.equal(ev(bad), false, 'an invalid condition never matches');
  }
});

test('ipInCidr: IPv4, IPv6, mapped addresses, bad input', () => {
  assert.equal(ipInCidr('192.168.1.7', '192.168.1.0/24'), true);
  assert.equal(ipInCidr('192.168.2.7', '192.168.1.0/24'), false);
  assert.equal(ipInCidr('1.2.3.4', '0.0.0.0/0'), true);
  assert.equal(ipInCidr('1.2.3.4', '1.2.3.4'), true);
  assert.equal(ipInCidr('::1', '::1/128'), true);
  assert.equal(ipInCidr('2001:db8::5', '2001:db8::/32'), true);
  assert.equal(ipInCidr('2001:db9::5', '2001:db8::/32'), false);
  assert.equal(ipInCidr('::ffff:10.0.0.1', '10.0.0.0/8'), true);
  assert.equal(ipInCidr('10.0.0.1', '2001:db8::/32'), false);
  assert.equal(ipInCidr('300.0.0.1', '0.0.0.0/0'), false);
  assert.equal(ipInCidr('10.0.0.1', '10.0.0.0/33'), false);
  assert.equal(ipInCidr('nonsense', '10.0.0.0/8'), false);
  assert.equal(ipInCidr('1:2:3:4:5:6:7:8:9', '::/0'), false);
});
