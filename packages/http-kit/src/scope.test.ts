import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '@photoncloud/errors';
import type { FastifyRequest } from 'fastify';
import type { Principal } from './auth.js';
import { inScope, resolveScope } from './scope.js';

function req(principal: Principal | null): FastifyRequest {
  return { principal } as unknown as FastifyRequest;
}

const scoped: Principal = {
  id: 'u1',
  kind: 'token',
  orgId: 'org-1',
  projectId: 'proj-1',
  roles: [],
  isAdmin: false,
};

test('a project-scoped token acts in its own project and fills it in when none is named', () => {
  assert.deepEqual(resolveScope(req(scoped), {}), { orgId: 'org-1', projectId: 'proj-1' });
  assert.deepEqual(resolveScope(req(scoped), { projectId: 'proj-1' }), {
    orgId: 'org-1',
    projectId: 'proj-1',
  });
});

test('a project-scoped token naming another project or org is 403', () => {
  for (const requested of [{ projectId: 'proj-2' }, { orgId: 'org-2' }]) {
    assert.throws(
      () => resolveScope(req(scoped), requested),
      (e: unknown) => e instanceof ApiError && e.status === 403 && e.code === 'FORBIDDEN',
    );
  }
});

test('admins and anonymous callers get exactly what they named', () => {
  const admin: Principal = { ...scoped, isAdmin: true };
  assert.deepEqual(resolveScope(req(admin), { projectId: 'proj-9' }), { projectId: 'proj-9' });
  assert.deepEqual(resolveScope(req(null), {}), {});
});

test('inScope filters by the fields the scope sets', () => {
  assert.equal(inScope({ projectId: 'p' }, { project_id: 'p', org_id: 'o' }), true);
  assert.equal(inScope({ projectId: 'p' }, { project_id: 'q' }), false);
  assert.equal(inScope({}, { project_id: 'q' }), true);
  assert.equal(inScope({ orgId: 'o' }, { org_id: null }), false);
});
