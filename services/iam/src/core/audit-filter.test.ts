/** Audit query helpers: action names, filters and time keys. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditAction, auditKeyTime, auditMatches } from './audit-filter.js';

const ev = (over: Partial<Parameters<typeof auditAction>[0]> = {}) => ({
  service: 'plasmavmc',
  method: 'POST',
  route: '/api/v1/vms/:id/start',
  path: '/api/v1/vms/vm-1/start',
  resource_id: 'vm-1',
  principal: { id: 'user-a' },
  ...over,
});

test('auditAction follows the authorization naming', () => {
  assert.equal(auditAction(ev()), 'plasmavmc:vms:start');
  assert.equal(auditAction(ev({ route: '/api/v1/vms', path: '/api/v1/vms' })), 'plasmavmc:vms:create');
  assert.equal(auditAction(ev({ method: 'DELETE', route: '/api/v1/vms/:id' })), 'plasmavmc:vms:delete');
  assert.equal(auditAction(ev({ method: 'PATCH', route: '/api/v1/vms/:id' })), 'plasmavmc:vms:update');
});

test('filters: user, action glob or substring, resource id or path', () => {
  assert.equal(auditMatches(ev(), { user: 'user-a' }), true);
  assert.equal(auditMatches(ev(), { user: 'user-b' }), false);
  assert.equal(auditMatches(ev({ principal: null }), { user: 'user-a' }), false);
  assert.equal(auditMatches(ev(), { action: 'plasmavmc:*:start' }), true);
  assert.equal(auditMatches(ev(), { action: '*:delete' }), false);
  assert.equal(auditMatches(ev(), { action: 'vms' }), true);
  assert.equal(auditMatches(ev(), { resource: 'vm-1' }), true);
  assert.equal(auditMatches(ev(), { resource: 'vm-2' }), false);
});

test('auditKeyTime is the 12-hex-digit millisecond prefix of sortable IDs', () => {
  assert.equal(auditKeyTime(0), '000000000000');
  assert.equal(auditKeyTime(0x18c2a1b2c3d), '018c2a1b2c3d');
  assert.ok(auditKeyTime(1000) < auditKeyTime(1001));
});
