import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, routePattern } from './route-table.js';

test('routePattern: static, params, wildcard, escaped colon', () => {
  assert.ok(routePattern('/api/v1/vms/:id').test('/api/v1/vms/vm-1'));
  assert.ok(!routePattern('/api/v1/vms/:id').test('/api/v1/vms/vm-1/start'));
  assert.ok(!routePattern('/api/v1/vms/:id').test('/api/v1/vms/'));
  assert.ok(routePattern('/api/v1/kv/*').test('/api/v1/kv/a/b/c'));
  assert.ok(routePattern('/a::b').test('/a:b'));
  assert.ok(!routePattern('/a.b').test('/aXb'), 'dots are literal');
});

test('RouteTable.allowed collects methods across matching routes; GET implies HEAD', () => {
  const t = new RouteTable();
  t.add('GET', '/api/v1/kv/:key');
  t.add('PUT', '/api/v1/kv/:key');
  t.add(['POST', 'DELETE'], '/api/v1/kv/*');
  assert.deepEqual(t.allowed('/api/v1/kv/a'), ['DELETE', 'GET', 'HEAD', 'POST', 'PUT']);
  assert.deepEqual(t.allowed('/api/v1/kv/a/b'), ['DELETE', 'POST']);
  assert.deepEqual(t.allowed('/elsewhere'), []);
});
