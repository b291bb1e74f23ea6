/* eslint-disable @typescript-eslint/no-explicit-any -- JSON response bodies are navigated dynamically in assertions. */
/**
 * The Authorizer against a real etcd v3 endpoint (EtcdStore): loading, watching, revocation visibility,
 * re-listing after a cancelled watch, and the http-kit hooks end to end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ForbiddenError, UnauthorizedError } from '@photoncloud/errors';
import { createService, ok } from '@photoncloud/http-kit';
import type { Principal, Service } from '@photoncloud/http-kit';
import { createLogger } from '@photoncloud/log';
import { EtcdStore, bytes, prefixEnd } from '@photoncloud/store';
import type { Store, WatchListener, Watcher } from '@photoncloud/store';
import { startEtcd, waitFor } from '@photoncloud/test-utils';
import type { EtcdProcess } from '@photoncloud/test-utils';
import { Authorizer, IAM_KEYS, httpAuthorizer, httpRevocationCheck } from '../src/index.js';
import type { Binding, Policy, Role } from '../src/index.js';

const T = '2026-01-01T00:00:00Z';
const logger = createLogger({ service: 'authz-test', level: 'silent' });

function user(id: string, extra: Partial<Principal> = {}): Principal {
  return {
    id,
    kind: 'token',
    roles: [],
    isAdmin: false,
    tokenId: `jti-${id}`,
    claims: { iat: 1000 },
    ...extra,
  };
}

function denied(fn: () => void): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    if (err instanceof ForbiddenError) {
      assert.equal(err.status, 403);
      assert.equal(err.code, 'FORBIDDEN');
      return true;
    }
    throw err;
  }
}

describe('Authorizer', () => {
  let etcd: EtcdProcess;
  let store: Store;
  const put = (key: string, value: unknown) =>
    store.put({ key: bytes(key), value: bytes(JSON.stringify(value)) });
  const del = (key: string) => store.deleteRange({ key: bytes(key) });

  before(async () => {
    etcd = await startEtcd();
    store = new EtcdStore({ endpoints: [etcd.endpoint] });
  });
  after(async () => {
    await store?.close();
    await etcd?.stop();
  });

  test('loads bindings that exist before open; scope limits where a role applies', async () => {
    await store.deleteRange({ key: bytes(IAM_KEYS.root), rangeEnd: prefixEnd(bytes(IAM_KEYS.root)) });
    const b: Binding = {
      id: 'b1',
      principal_id: 'alice',
      role: 'viewer',
      scope: { org_id: 'o1', project_id: 'p1' },
      created_at: T,
    };
    await put(`${IAM_KEYS.bindings}alice/b1`, b);
    const az = await Authorizer.open({ store, logger, pageSize: 2 });
    try {
      const alice = user('alice');
      az.authorize(alice, 'vpc:vpcs:list', 'prn:vpc:o1:p1:vpcs/*');
      az.authorize(alice, 'vpc:vpcs:get', 'prn:vpc:o1:p1:vpcs/v1');
      assert.ok(denied(() => az.authorize(alice, 'vpc:vpcs:create', 'prn:vpc:o1:p1:vpcs/*')));
      assert.ok(
        denied(() => az.authorize(alice, 'vpc:vpcs:list', 'prn:vpc:o1:p2:vpcs/*')),
        'other project',
      );
      assert.ok(
        denied(() => az.authorize(alice, 'vpc:vpcs:list', 'prn:vpc:*:*:vpcs/*')),
        'unscoped request',
      );
      assert.ok(
        denied(() => az.authorize(user('bob'), 'vpc:vpcs:list', 'prn:vpc:o1:p1:vpcs/*')),
        'no bindings',
      );
      az.authorize(user('root', { isAdmin: true }), 'iam:policies:delete', 'prn:iam:*:*:policies/x');
      assert.ok(az.revision > 0);
    } finally {
      await az.close();
    }
  });

  test('policies, roles and bindings written later are seen through the watch; deletes too', async () => {
    const az = await Authorizer.open({ store, logger });
    try {
      const carol = user('carol', { roles: ['member'] });
      const can = () => az.decide(carol, 'dns:zones:create', 'prn:dns:o1:p1:zones/*').decision === 'allow';
      assert.equal(can(), false);
      const policy: Policy = {
        id: 'pol-dns',
        name: 'dns',
        rules: [
          {
            effect: 'Allow',
            action: 'dns:*',
            resource: 'prn:dns:o1:*',
            condition: "user.role == 'dns-admin'",
          },
          { effect: 'Deny', action: 'dns:zones:delete', resource: '*' },
        ],
        created_at: T,
        updated_at: T,
      };
      const role: Role = { name: 'dns-admin', policy_ids: ['pol-dns'] };
      await put(`${IAM_KEYS.policies}pol-dns`, policy);
      await put(`${IAM_KEYS.roles}dns-admin`, role);
      await put(`${IAM_KEYS.bindings}carol/b2`, {
        id: 'b2',
        principal_id: 'carol',
        role: 'dns-admin',
        scope: { org_id: 'o1' },
        created_at: T,
      } satisfies Binding);
      await waitFor(can, { timeoutMs: 2000, what: 'binding visible' });
      const d = az.decide(carol, 'dns:zones:delete', 'prn:dns:o1:p1:zones/z');
      assert.deepEqual(d, {
        decision: 'deny',
        reason: 'explicit-deny',
        matched: { policy_id: 'pol-dns', rule_index: 1 },
      });
      assert.equal(
        az.decide(carol, 'dns:zones:create', 'prn:dns:o2:p1:zones/*').decision,
        'deny',
        'other org',
      );
      await del(`${IAM_KEYS.bindings}carol/b2`);
      await waitFor(() => !can(), { timeoutMs: 2000, what: 'binding removal visible' });
      // Broken values are ignored, not fatal.
      await store.put({ key: bytes(`${IAM_KEYS.policies}broken`), value: bytes('{not json') });
      await put(`${IAM_KEYS.bindings}carol/b3`, {
        id: 'b3',
        principal_id: 'carol',
        policy_id: 'broken',
        scope: {},
        created_at: T,
      });
      await put(`${IAM_KEYS.bindings}carol/b4`, {
        id: 'b4',
        principal_id: 'carol',
        policy_id: 'pol-dns',
        scope: {},
        created_at: T,
      });
      await waitFor(
        () =>
          az.decide({ ...carol, roles: ['dns-admin'] }, 'dns:zones:get', 'prn:dns:o1:p:zones/z').decision ===
          'allow',
        {
          timeoutMs: 2000,
          what: 'direct policy binding',
        },
      );
      await del(`${IAM_KEYS.bindings}carol/b3`);
      await del(`${IAM_KEYS.bindings}carol/b4`);
    } finally {
      await az.close();
    }
  });

  test('a revocation written to the store is seen within 1 s', async () => {
    const az = await Authorizer.open({ store, logger });
    try {
      const dave = user('dave', { tokenId: 'jti-dave-1', claims: { iat: 5000 } });
      assert.equal(az.isPrincipalRevoked(dave), false);
      const lease = await store.leaseGrant(60);
      await store.put({
        key: bytes(`${IAM_KEYS.revoked}jti-dave-1`),
        value: bytes(JSON.stringify({ jti: 'jti-dave-1', exp: 9_999_999_999 })),
        lease: lease.id,
      });
      await waitFor(() => az.isPrincipalRevoked(dave), { timeoutMs: 1000, what: 'jti revocation visible' });
      assert.equal(az.isRevoked('jti-other', 'dave', 5000), false);
      // Revoking a principal: tokens issued before not_before are revoked, later ones are not.
      await put(`${IAM_KEYS.revokedPrincipals}erin`, { not_before: 2000 });
      await waitFor(() => az.isRevoked('jti-e1', 'erin', 1999), {
        timeoutMs: 1000,
        what: 'principal revocation visible',
      });
      assert.equal(az.isRevoked('jti-e2', 'erin', 2000), false);
      assert.equal(az.isRevoked('jti-e3', 'erin', undefined), true, 'no iat counts as older');
      await store.leaseRevoke(lease.id);
      await waitFor(() => !az.isPrincipalRevoked(dave), { timeoutMs: 1000, what: 'lease expiry visible' });
    } finally {
      await az.close();
    }
  });

  test('token roles apply within the token scope when the principal has no bindings', async () => {
    const az = await Authorizer.open({ store, logger });
    try {
      const svc = user('svc-1', { roles: ['editor'], orgId: 'o9', projectId: 'p9' });
      az.authorize(svc, 'vm:vms:start', 'prn:vm:o9:p9:vms/x');
      assert.ok(denied(() => az.authorize(svc, 'vm:vms:start', 'prn:vm:o9:p8:vms/x')));
      assert.ok(denied(() => az.authorize(svc, 'iam:bindings:create', 'prn:iam:o9:p9:bindings/*')));
      const local: Principal = { id: 'x', kind: 'local', roles: ['admin'], isAdmin: false };
      assert.ok(
        denied(() => az.authorize(local, 'vm:vms:list', 'prn:vm:*:*:vms/*')),
        'only tokens carry roles',
      );
    } finally {
      await az.close();
    }
  });

  test('re-lists the state when the watch is cancelled (e.g. compaction)', async () => {
    let listener: WatchListener | undefined;
    let inner: Watcher | undefined;
    let watches = 0;
    const wrapped: Store = Object.create(store) as Store;
    wrapped.watch = async (req, l) => {
      watches++;
      listener = l;
      inner = await store.watch(req, l);
      return inner;
    };
    const az = await Authorizer.open({ store: wrapped, logger, retryDelayMs: 10 });
    try {
      assert.equal(watches, 1);
      await inner?.cancel();
      // Written while nobody watches: only a re-list can find it.
      const r = await put(`${IAM_KEYS.revoked}jti-missed`, { jti: 'jti-missed', exp: 1 });
      assert.equal(az.isRevoked('jti-missed', 'z', 1), false);
      listener?.({
        header: r.header,
        events: [],
        canceled: true,
        compactRevision: r.header.revision,
        cancelReason: 'compacted',
      });
      await waitFor(() => az.isRevoked('jti-missed', 'z', 1), { timeoutMs: 2000, what: 're-list' });
      assert.equal(watches, 2);
      await put(`${IAM_KEYS.revoked}jti-after`, { jti: 'jti-after', exp: 1 });
      await waitFor(() => az.isRevoked('jti-after', 'z', 1), { timeoutMs: 2000, what: 'new watch delivers' });
    } finally {
      await az.close();
    }
  });

  describe('http-kit hooks (httpAuthorizer, httpRevocationCheck)', () => {
    let az: Authorizer;
    let svc: Service;
    const tokens: Record<string, Principal> = {
      viewer: user('v-user', { roles: ['viewer'], orgId: 'o1', projectId: 'p1' }),
      editor: user('e-user', { roles: ['editor'], orgId: 'o1', projectId: 'p1' }),
      revoked: user('r-user', {
        roles: ['admin'],
        orgId: 'o1',
        projectId: 'p1',
        tokenId: 'jti-http-revoked',
      }),
    };
    before(async () => {
      await put(`${IAM_KEYS.revoked}jti-http-revoked`, { jti: 'jti-http-revoked', exp: 9_999_999_999 });
      az = await Authorizer.open({ store, logger });
      svc = await createService({
        name: 'vpc',
        version: '0',
        logger,
        auth: {
          mode: 'required',
          verifyToken: async (t) => {
            const p = tokens[t];
            if (p === undefined) throw new UnauthorizedError('Invalid token');
            return { ...p };
          },
          authorize: httpAuthorizer(az, 'vpc'),
          isRevoked: httpRevocationCheck(az),
        },
      });
      svc.app.get('/api/v1/vpcs', async (request) => ok(request, []));
      svc.app.post('/api/v1/vpcs', async (request) => ok(request, { created: true }));
      svc.app.post('/api/v1/vpcs/:id/start', async (request) => ok(request, { started: true }));
      svc.app.get('/api/v1/whoami', { config: { authz: { skip: true } } }, async (request) =>
        ok(request, request.principal?.id),
      );
      svc.app.post(
        '/api/v1/policies',
        { config: { authz: { action: 'iam:policies:create' } } },
        async (request) => ok(request, true),
      );
      await svc.app.ready();
    });
    after(async () => {
      await svc?.close();
      await az?.close();
    });
    const call = (token: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
      svc.app.inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      });

    test('derived actions are enforced per role and scope', async () => {
      assert.equal((await call('viewer', 'GET', '/api/v1/vpcs')).statusCode, 200);
      const r = await call('viewer', 'POST', '/api/v1/vpcs', { name: 'x' });
      assert.equal(r.statusCode, 403);
      const body = JSON.parse(r.body) as any;
      assert.equal(body.error.code, 'FORBIDDEN');
      assert.equal(body.error.details.action, 'vpc:vpcs:create');
      assert.equal(body.error.details.resource, 'prn:vpc:o1:p1:vpcs/*');
      assert.equal((await call('editor', 'POST', '/api/v1/vpcs', { name: 'x' })).statusCode, 200);
      assert.equal((await call('editor', 'POST', '/api/v1/vpcs/v1/start')).statusCode, 200);
      assert.equal((await call('viewer', 'POST', '/api/v1/vpcs/v1/start')).statusCode, 403);
      // Naming another project in the body moves the resource out of the token's scope.
      assert.equal((await call('editor', 'POST', '/api/v1/vpcs', { project_id: 'p2' })).statusCode, 403);
      assert.equal((await call('editor', 'GET', '/api/v1/vpcs?project_id=p2')).statusCode, 403);
    });

    test('route overrides: skip and a fixed action', async () => {
      assert.equal((await call('viewer', 'GET', '/api/v1/whoami')).statusCode, 200);
      assert.equal(
        (await call('editor', 'POST', '/api/v1/policies', {})).statusCode,
        403,
        'editor may not manage policies',
      );
    });

    test('a revoked token gets 401 "Token revoked"', async () => {
      const r = await call('revoked', 'GET', '/api/v1/vpcs');
      assert.equal(r.statusCode, 401);
      assert.equal((JSON.parse(r.body) as any).error.message, 'Token revoked');
    });
  });
});
