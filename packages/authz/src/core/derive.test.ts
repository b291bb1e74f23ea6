import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveRequest } from './derive.js';

const d = (method: string, routeUrl: string, extra: Partial<Parameters<typeof deriveRequest>[0]> = {}) => {
  const r = deriveRequest({ service: 'vpc', method, routeUrl, ...extra });
  return [r.action, r.resource];
};

test('collection and item verbs', () => {
  assert.deepEqual(d('GET', '/api/v1/vpcs'), ['vpc:vpcs:list', 'prn:vpc:*:*:vpcs/*']);
  assert.deepEqual(d('POST', '/api/v1/vpcs'), ['vpc:vpcs:create', 'prn:vpc:*:*:vpcs/*']);
  assert.deepEqual(d('GET', '/api/v1/vpcs/:id', { params: { id: 'v1' } }), [
    'vpc:vpcs:get',
    'prn:vpc:*:*:vpcs/v1',
  ]);
  assert.deepEqual(d('PUT', '/api/v1/vpcs/:id', { params: { id: 'v1' } }), [
    'vpc:vpcs:update',
    'prn:vpc:*:*:vpcs/v1',
  ]);
  assert.deepEqual(d('PATCH', '/api/v1/vpcs/:id', { params: { id: 'v1' } }), [
    'vpc:vpcs:update',
    'prn:vpc:*:*:vpcs/v1',
  ]);
  assert.deepEqual(d('DELETE', '/api/v1/vpcs/:id', { params: { id: 'v1' } }), [
    'vpc:vpcs:delete',
    'prn:vpc:*:*:vpcs/v1',
  ]);
});

test('POST sub-actions use the trailing literal segment', () => {
  assert.deepEqual(d('POST', '/api/v1/vms/:id/start', { params: { id: 'vm-1' } }), [
    'vpc:vms:start',
    'prn:vpc:*:*:vms/vm-1',
  ]);
  assert.deepEqual(d('POST', '/api/v1/txns/:id/commit', { params: { id: 't' } })[0], 'vpc:txns:commit');
  assert.deepEqual(
    d('POST', '/api/v1/vpcs/:id/subnets/:sid', { params: { id: 'v', sid: 's' } })[0],
    'vpc:vpcs:create',
  );
  assert.deepEqual(d('GET', '/api/v1/vpcs/:id/subnets', { params: { id: 'v' } })[0], 'vpc:vpcs:get');
});

test('wildcard routes and paths outside /api/v1', () => {
  assert.deepEqual(d('PUT', '/api/v1/kv/*', { params: { '*': 'a/b:c' } }), [
    'vpc:kv:update',
    'prn:vpc:*:*:kv/a/b:c',
  ]);
  assert.deepEqual(d('GET', '/metrics'), ['vpc:metrics:list', 'prn:vpc:*:*:metrics/*']);
  assert.deepEqual(d('GET', '/api/v1/vpcs?x=1')[0], 'vpc:vpcs:list');
});

test('org/project from params, query, body, then the principal', () => {
  const principal = { orgId: 'po', projectId: 'pp' };
  assert.equal(d('GET', '/api/v1/vpcs', { principal })[1], 'prn:vpc:po:pp:vpcs/*');
  assert.equal(
    d('GET', '/api/v1/vpcs', { principal, query: { project_id: 'qp' } })[1],
    'prn:vpc:po:qp:vpcs/*',
  );
  assert.equal(
    d('POST', '/api/v1/vpcs', { body: { org_id: 'bo', project_id: 'bp' } })[1],
    'prn:vpc:bo:bp:vpcs/*',
  );
  assert.equal(
    d('POST', '/api/v1/vpcs', {
      params: { org_id: 'xo' },
      query: { org_id: 'qo' },
      body: { org_id: 'bo' },
    })[1],
    'prn:vpc:xo:*:vpcs/*',
  );
  assert.equal(
    d('POST', '/api/v1/vpcs', { body: { org_id: 7 } })[1],
    'prn:vpc:*:*:vpcs/*',
    'non-strings are ignored',
  );
  assert.equal(d('POST', '/api/v1/vpcs', { body: [1, 2] })[1], 'prn:vpc:*:*:vpcs/*');
});
