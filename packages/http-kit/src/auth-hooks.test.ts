/* eslint-disable @typescript-eslint/no-explicit-any -- JSON response bodies are navigated dynamically in assertions. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { ForbiddenError, UnauthorizedError } from '@photoncloud/errors';
import { createLogger } from '@photoncloud/log';
import { createService, ok } from './index.js';
import type { AuthOptions, Principal, Service } from './index.js';

const principals: Record<string, Principal> = {
  alice: { id: 'alice', kind: 'token', roles: ['viewer'], isAdmin: false, tokenId: 'jti-a' },
  bob: { id: 'bob', kind: 'token', roles: [], isAdmin: false, tokenId: 'jti-b' },
  revoked: { id: 'carol', kind: 'token', roles: ['admin'], isAdmin: false, tokenId: 'jti-revoked' },
};

async function serviceWith(auth: Partial<AuthOptions>): Promise<{ svc: Service; calls: string[] }> {
  const calls: string[] = [];
  const svc = await createService({
    name: 'hookdemo',
    version: '0',
    auth: {
      mode: 'local',
      verifyToken: async (t) => {
        const p = principals[t];
        if (p === undefined) throw new UnauthorizedError('Invalid token');
        return { ...p };
      },
      ...auth,
    },
    logger: createLogger({ service: 'hookdemo', level: 'silent' }),
  });
  svc.app.get('/api/v1/things', async (request) => ok(request, { who: request.principal?.id ?? null }));
  svc.app.post(
    '/api/v1/things',
    { schema: { body: Type.Object({ name: Type.String() }) } },
    async (request) => {
      calls.push('handler');
      return ok(request, { created: true });
    },
  );
  svc.app.get('/api/v1/open', { config: { public: true } }, async (request) =>
    ok(request, { who: request.principal?.id ?? null }),
  );
  await svc.app.ready();
  return { svc, calls };
}

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

describe('authorize and isRevoked hooks', () => {
  let svc: Service;
  let calls: string[];
  const seen: Array<{ method: string; url: string; principal: string; body: unknown }> = [];
  before(async () => {
    ({ svc, calls } = await serviceWith({
      isRevoked: (p) => p.tokenId === 'jti-revoked',
      authorize: async (request, p) => {
        seen.push({ method: request.method, url: request.url, principal: p.id, body: request.body });
        if (p.id === 'bob' || (request.method !== 'GET' && p.roles.includes('viewer'))) {
          throw new ForbiddenError(`${p.id} may not ${request.method} ${request.url}`);
        }
      },
    }));
  });
  after(() => svc.close());

  test('allowed requests reach the handler; the hook sees principal and parsed body', async () => {
    const r = await svc.app.inject({ method: 'GET', url: '/api/v1/things', headers: bearer('alice') });
    assert.equal(r.statusCode, 200);
    assert.equal(JSON.parse(r.body).data.who, 'alice');
    seen.length = 0;
    const denied = await svc.app.inject({
      method: 'POST',
      url: '/api/v1/things',
      headers: { ...bearer('alice'), 'content-type': 'application/json' },
      payload: { name: 'x', org_id: 'o1' },
    });
    assert.equal(seen[0]?.principal, 'alice');
    assert.deepEqual(seen[0]?.body, { name: 'x', org_id: 'o1' });
    assert.equal(denied.statusCode, 403);
  });

  test('a refusal is a 403 FORBIDDEN envelope, before validation and before the handler', async () => {
    const r = await svc.app.inject({
      method: 'POST',
      url: '/api/v1/things',
      headers: { ...bearer('bob'), 'content-type': 'application/json' },
      payload: { wrong: 1 },
    });
    assert.equal(r.statusCode, 403);
    const b = JSON.parse(r.body) as any;
    assert.equal(b.success, false);
    assert.equal(b.error.code, 'FORBIDDEN');
    assert.deepEqual(calls, []);
  });

  test('a revoked token is 401 "Token revoked" on protected routes and anonymous on public ones', async () => {
    const r = await svc.app.inject({ method: 'GET', url: '/api/v1/things', headers: bearer('revoked') });
    assert.equal(r.statusCode, 401);
    const b = JSON.parse(r.body) as any;
    assert.equal(b.error.code, 'UNAUTHORIZED');
    assert.equal(b.error.message, 'Token revoked');
    const pub = await svc.app.inject({ method: 'GET', url: '/api/v1/open', headers: bearer('revoked') });
    assert.equal(pub.statusCode, 200);
    assert.equal(JSON.parse(pub.body).data.who, null);
  });

  test('public routes, /health, unknown routes and the local admin skip authorize', async () => {
    seen.length = 0;
    assert.equal(
      (await svc.app.inject({ method: 'GET', url: '/api/v1/open', headers: bearer('bob') })).statusCode,
      200,
    );
    assert.equal(
      (await svc.app.inject({ method: 'GET', url: '/health', headers: bearer('bob') })).statusCode,
      200,
    );
    assert.equal(
      (await svc.app.inject({ method: 'GET', url: '/api/v1/nope', headers: bearer('bob') })).statusCode,
      404,
    );
    // No token from loopback in local mode: the local admin.
    const local = await svc.app.inject({ method: 'GET', url: '/api/v1/things' });
    assert.equal(local.statusCode, 200);
    assert.equal(JSON.parse(local.body).data.who, 'local-admin');
    assert.deepEqual(seen, []);
  });

  test('an async isRevoked is awaited', async () => {
    const { svc: s2 } = await serviceWith({ isRevoked: async (p) => p.id === 'alice' });
    try {
      const r = await s2.app.inject({ method: 'GET', url: '/api/v1/things', headers: bearer('alice') });
      assert.equal(r.statusCode, 401);
      const r2 = await s2.app.inject({ method: 'GET', url: '/api/v1/things', headers: bearer('bob') });
      assert.equal(r2.statusCode, 200, 'without authorize every authenticated principal passes');
    } finally {
      await s2.close();
    }
  });
});
