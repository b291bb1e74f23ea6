/* eslint-disable @typescript-eslint/no-explicit-any -- OpenAPI documents and JSON bodies are navigated dynamically. */
/**
 * Cross-service enforcement in auth mode `required`: ChainFire, IAM and every other service of the CLI
 * registry (`SERVICES`, started by apps/cli/test/in-process-platform.ts), each with the CLI's `buildAuth`
 * settings over ChainFire's etcd gRPC API. For EVERY route of every service's OpenAPI document (path
 * parameters filled with dummy values; public routes — `security: []` — and /health exempt):
 *   no token → 401, expired token → 401, forged tokens (another key; tampered payload) → 401,
 *   revoked token → 401, and a valid token scoped to another project → 403 on routes that carry
 *   `project_id` (query or body).
 * The route list comes from the OpenAPI documents, not from a hand-written list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { SignJWT, decodeProtectedHeader, generateKeyPair } from 'jose';
import { waitFor } from '@photoncloud/test-utils';
// This test starts every service the way the CLI's `serve` does, so it uses the CLI's own auth wiring and registry.
/* eslint-disable no-restricted-imports */
import { startInProcessPlatform } from '../../../apps/cli/test/in-process-platform.js';
/* eslint-enable no-restricted-imports */

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Route {
  service: string;
  method: string;
  path: string;
  /** Where the route takes project_id, if it does. */
  projectIdIn?: 'query' | 'body';
}

/** The routes of an OpenAPI document that need authentication. */
function routesOf(service: string, doc: any): Route[] {
  const out: Route[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
    if (path === '/health') continue;
    for (const m of METHODS) {
      const op = item[m];
      if (op === undefined) continue;
      if (Array.isArray(op.security) && op.security.length === 0) continue; // documented public
      const params: any[] = [...(item.parameters ?? []), ...(op.parameters ?? [])];
      const inQuery = params.some((p) => p.in === 'query' && p.name === 'project_id');
      const body = op.requestBody?.content?.['application/json']?.schema;
      const inBody = body?.properties?.project_id !== undefined;
      const filled = path.replace(/\{[^}]+\}/g, 'dummy-1');
      out.push({
        service,
        method: m.toUpperCase(),
        path: filled,
        ...(inQuery ? { projectIdIn: 'query' as const } : inBody ? { projectIdIn: 'body' as const } : {}),
      });
    }
  }
  return out;
}

async function send(base: string, r: Route, token?: string, over: { query?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const hasBody = r.method !== 'GET' && r.method !== 'DELETE';
  if (hasBody) headers['content-type'] = 'application/json';
  const res = await fetch(base + r.path + (over.query ?? ''), {
    method: r.method,
    headers,
    ...(hasBody ? { body: JSON.stringify(over.body ?? {}) } : {}),
  });
  const text = await res.text();
  return { status: res.status, text };
}

test(
  'every route of every service enforces authentication, revocation and tenancy in required mode',
  { timeout: 180_000 },
  async (t) => {
    // ChainFire, IAM and every other service of the registry, started the way `serve` starts them (the
    // CLI's buildAuth settings over ChainFire's etcd gRPC API).
    const platform = await startInProcessPlatform('required');
    const dir = platform.dir;
    try {
      const bases = platform.urls;
      const iamUrl = bases.get('iam')!;

      // Tokens: the bootstrap admin logs in; an expiring token is issued first so that it has expired by the time
      // it is used (jose allows 5 s of clock skew).
      const boot = JSON.parse(await readFile(`${dir.path}/iam/bootstrap-admin.json`, 'utf8'));
      const iam = async (method: string, path: string, body: unknown, token?: string) => {
        const res = await fetch(iamUrl + path, {
          method,
          headers: {
            'content-type': 'application/json',
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          },
          body: JSON.stringify(body),
        });
        const json: any = await res.json();
        if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
        return json.data;
      };
      const login = async () =>
        (await iam('POST', '/api/v1/auth/login', { username: 'admin', password: boot.password }))
          .token as string;
      const admin = await login();
      const expiring = (
        await iam('POST', '/api/v1/auth/token', { principal_id: 'admin', ttl_seconds: 1 }, admin)
      ).token as string;
      const expiredAt = Date.now() + 1000;

      await iam('POST', '/api/v1/projects', { id: 'proj-a', name: 'A', org_id: 'org-a' }, admin);
      await iam(
        'POST',
        '/api/v1/users',
        { id: 'user-scoped', name: 'Scoped', password: 'scoped-password-1' },
        admin,
      );
      await iam(
        'POST',
        '/api/v1/projects/proj-a/members',
        { principal_id: 'user-scoped', role: 'admin' },
        admin,
      );
      const scoped = (
        await iam('POST', '/api/v1/auth/login', {
          username: 'user-scoped',
          password: 'scoped-password-1',
          scope_id: 'proj-a',
        })
      ).token as string;

      // Forged: same claims and kid, signed by a key IAM never had; and a real token with its payload edited.
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const kid = decodeProtectedHeader(admin).kid!;
      const forged = await new SignJWT({ sub: 'admin', admin: true, roles: ['admin'], jti: 'forged-1' })
        .setProtectedHeader({ alg: 'EdDSA', kid })
        .setIssuer('photoncloud-iam')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
      const [h64, p64, s64] = scoped.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p64, 'base64url').toString());
      const tampered = `${h64}.${Buffer.from(JSON.stringify({ ...payload, admin: true })).toString('base64url')}.${s64}`;

      // Every route, from the OpenAPI documents.
      const routes: Route[] = [];
      for (const [name, base] of bases) {
        const res = await fetch(`${base}/api/v1/openapi.json`, {
          headers: { authorization: `Bearer ${admin}` },
        });
        assert.equal(res.status, 200, `${name} serves its OpenAPI document`);
        routes.push(...routesOf(name, await res.json()));
      }
      t.diagnostic(`services: ${[...bases.keys()].join(', ')}; routes: ${routes.length}`);
      for (const name of bases.keys())
        assert.ok(
          routes.some((r) => r.service === name),
          `${name} has authenticated routes`,
        );

      const failures: string[] = [];
      const expect = async (what: string, r: Route, token: string | undefined, want: number, over = {}) => {
        const res = await send(bases.get(r.service)!, r, token, over);
        if (res.status !== want)
          failures.push(
            `${what}: ${r.service} ${r.method} ${r.path} → ${res.status} (want ${want}) ${res.text.slice(0, 160)}`,
          );
      };

      for (const r of routes) {
        await expect('no token', r, undefined, 401);
        await expect('forged (other key)', r, forged, 401);
        await expect('tampered', r, tampered, 401);
        await expect('malformed', r, 'not-a-jwt', 401);
      }

      // Tenancy: a valid token scoped to proj-a asking for another project is refused.
      const tenancy = routes.filter((r) => r.projectIdIn !== undefined);
      t.diagnostic(
        `routes carrying project_id: ${tenancy.map((r) => `${r.service} ${r.method} ${r.path}`).join('; ') || 'none'}`,
      );
      for (const r of tenancy) {
        const over =
          r.projectIdIn === 'query'
            ? { query: '?org_id=org-a&project_id=proj-other' }
            : { body: { org_id: 'org-a', project_id: 'proj-other' } };
        await expect('other project', r, scoped, 403, over);
      }

      // Expired.
      await waitFor(() => Date.now() > expiredAt + 6_500, {
        timeoutMs: 15_000,
        what: 'the short token to expire',
      });
      for (const r of routes) await expect('expired', r, expiring, 401);

      // Revoked: a fresh admin session, revoked in IAM, is refused by every service once its watch delivered it.
      const victim = await login();
      const probe = routes.find((r) => r.service === 'chainfire' && r.method === 'GET')!;
      assert.equal(
        (await send(bases.get('chainfire')!, probe, victim)).status !== 401,
        true,
        'the session works before revocation',
      );
      await iam('POST', '/api/v1/auth/revoke', { token: victim }, admin);
      for (const name of bases.keys()) {
        const r =
          routes.find((x) => x.service === name && x.method === 'GET') ??
          routes.find((x) => x.service === name)!;
        await waitFor(async () => (await send(bases.get(name)!, r, victim)).status === 401, {
          timeoutMs: 5_000,
          intervalMs: 25,
          what: `${name} to see the revocation`,
        });
      }
      for (const r of routes) await expect('revoked', r, victim, 401);

      assert.deepEqual(failures, [], `${failures.length} enforcement failures`);
    } finally {
      await platform.close();
    }
  },
);
