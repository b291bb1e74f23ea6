/* eslint-disable @typescript-eslint/no-explicit-any -- JSON response bodies are navigated dynamically in assertions. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, generateSecret } from 'jose';
import type { JSONWebKeySet, JWK } from 'jose';
import { UnauthorizedError } from '@photoncloud/errors';
import { createLogger } from '@photoncloud/log';
import { createService, isLoopback, jwksVerifier, ok } from './index.js';
import type { AuthOptions, Service, TokenVerifier } from './index.js';

type KeyLike = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

interface Signer {
  kid: string;
  alg: string;
  privateKey: KeyLike;
  jwk: JWK;
}

async function signer(alg: 'EdDSA' | 'ES256' | 'RS256', kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, jwk };
}

async function token(
  s: Signer,
  claims: Record<string, unknown> = {},
  opts: { exp?: string | number; iss?: string; aud?: string; kid?: string } = {},
): Promise<string> {
  return new SignJWT({ org_id: 'org-1', project_id: 'proj-1', roles: ['member'], ...claims })
    .setProtectedHeader({ alg: s.alg, kid: opts.kid ?? s.kid })
    .setSubject('user-123')
    .setJti('tok-1')
    .setIssuedAt()
    .setIssuer(opts.iss ?? 'photoncloud-iam')
    .setAudience(opts.aud ?? 'photoncloud')
    .setExpirationTime(opts.exp ?? '10m')
    .sign(s.privateKey);
}

async function serviceWith(auth: AuthOptions): Promise<Service> {
  const svc = await createService({
    name: 'authdemo',
    version: '0',
    auth,
    logger: createLogger({ service: 'authdemo', level: 'silent' }),
  });
  svc.app.get('/api/v1/whoami', async (request) => ok(request, request.principal));
  await svc.app.ready();
  return svc;
}

function body(r: { body: string }): Record<string, any> {
  return JSON.parse(r.body) as Record<string, any>;
}

describe('auth', () => {
  let ed: Signer;
  let es: Signer;
  let rogue: Signer;
  let jwks: JSONWebKeySet;
  let verify: TokenVerifier;

  before(async () => {
    ed = await signer('EdDSA', 'iam-1');
    es = await signer('ES256', 'iam-2');
    // Same kid as the real key, different key material: a forgery.
    rogue = await signer('EdDSA', 'iam-1');
    jwks = { keys: [ed.jwk, es.jwk] };
    verify = jwksVerifier({ jwks, issuer: 'photoncloud-iam', audience: 'photoncloud' });
  });

  test('isLoopback', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'])
      assert.equal(isLoopback(a), true, a);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '192.168.1.127', 'fe80::1', undefined])
      assert.equal(isLoopback(a), false, String(a));
  });

  describe('local mode', () => {
    let svc: Service;
    before(async () => {
      svc = await serviceWith({ mode: 'local', verifyToken: verify });
    });
    after(async () => {
      await svc.close();
    });

    test('no token from loopback (a real socket) → local admin', async () => {
      const { url } = await svc.listen({ host: '127.0.0.1' });
      const r = await fetch(`${url}/api/v1/whoami`);
      assert.equal(r.status, 200);
      const data = ((await r.json()) as Record<string, any>).data;
      assert.equal(data.id, 'local-admin');
      assert.equal(data.kind, 'local');
      assert.equal(data.isAdmin, true);
    });

    test('no token from elsewhere → 401 with WWW-Authenticate', async () => {
      const r = await svc.app.inject({ url: '/api/v1/whoami', remoteAddress: '10.20.30.40' });
      assert.equal(r.statusCode, 401);
      assert.equal(body(r).error.code, 'UNAUTHORIZED');
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
    });

    test('a token is verified even from loopback: forged → 401, valid → its principal', async () => {
      const forged = await svc.app.inject({
        url: '/api/v1/whoami',
        headers: { authorization: `Bearer ${await token(rogue)}` },
      });
      assert.equal(forged.statusCode, 401);
      const good = await svc.app.inject({
        url: '/api/v1/whoami',
        remoteAddress: '10.20.30.40',
        headers: { authorization: `Bearer ${await token(ed)}` },
      });
      assert.equal(good.statusCode, 200);
      assert.equal(body(good).data.id, 'user-123');
    });
  });

  describe('required mode', () => {
    let svc: Service;
    before(async () => {
      svc = await serviceWith({ mode: 'required', verifyToken: verify });
    });
    after(async () => {
      await svc.close();
    });

    const call = (authorization?: string) =>
      svc.app.inject({
        url: '/api/v1/whoami',
        headers: authorization === undefined ? {} : { authorization },
      });

    test('missing token → 401, even from loopback; /health and /metrics stay public', async () => {
      const r = await call();
      assert.equal(r.statusCode, 401);
      assert.equal(body(r).error.code, 'UNAUTHORIZED');
      assert.equal((await svc.app.inject({ url: '/health' })).statusCode, 200);
      const m = await svc.app.inject({ url: '/metrics' });
      assert.equal(m.statusCode, 200);
      assert.match(m.body, /^# HELP /m);
      assert.equal((await svc.app.inject({ url: '/api/v1/openapi.json' })).statusCode, 401);
    });

    test('valid EdDSA token → principal from claims', async () => {
      const r = await call(`Bearer ${await token(ed, { admin: true })}`);
      assert.equal(r.statusCode, 200);
      const p = body(r).data;
      assert.equal(p.id, 'user-123');
      assert.equal(p.kind, 'token');
      assert.equal(p.orgId, 'org-1');
      assert.equal(p.projectId, 'proj-1');
      assert.deepEqual(p.roles, ['member']);
      assert.equal(p.isAdmin, true);
      assert.equal(p.tokenId, 'tok-1');
    });

    test('ES256 key from the set is accepted too', async () => {
      assert.equal((await call(`Bearer ${await token(es)}`)).statusCode, 200);
    });

    test('expired, forged, wrong issuer/audience, unknown kid → 401 with a reason', async () => {
      const cases: Array<[string, string, RegExp]> = [
        ['expired', await token(ed, {}, { exp: Math.floor(Date.now() / 1000) - 3600 }), /expired/i],
        ['forged', await token(rogue), /signature/i],
        ['issuer', await token(ed, {}, { iss: 'someone-else' }), /claims/i],
        ['audience', await token(ed, {}, { aud: 'other-service' }), /claims/i],
        ['kid', await token(ed, {}, { kid: 'nope' }), /known key/i],
      ];
      for (const [name, t, reason] of cases) {
        const r = await call(`Bearer ${t}`);
        assert.equal(r.statusCode, 401, name);
        assert.match(body(r).error.message, reason, name);
        assert.match(String(r.headers['www-authenticate']), /invalid_token/, name);
      }
    });

    test('wrong algorithms → 401: HS256 with a shared secret, alg none', async () => {
      const secret = await generateSecret('HS256');
      const hs = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', kid: 'iam-1' })
        .setSubject('user-123')
        .setExpirationTime('10m')
        .sign(secret);
      const none = new UnsecuredJWT({ sub: 'user-123' }).setExpirationTime('10m').encode();
      for (const t of [hs, none]) {
        const r = await call(`Bearer ${t}`);
        assert.equal(r.statusCode, 401);
        assert.equal(body(r).error.code, 'UNAUTHORIZED');
      }
    });

    test('garbage and malformed headers → 401, never 500', async () => {
      for (const h of ['Bearer not.a.jwt', 'Bearer abc', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b c']) {
        const r = await call(h);
        assert.equal(r.statusCode, 401, h);
        assert.equal(body(r).error.code, 'UNAUTHORIZED', h);
      }
    });

    test('a token without sub → 401', async () => {
      const t = await new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', kid: 'iam-1' })
        .setIssuer('photoncloud-iam')
        .setAudience('photoncloud')
        .setExpirationTime('5m')
        .sign(ed.privateKey);
      const r = await call(`Bearer ${t}`);
      assert.equal(r.statusCode, 401);
      assert.match(body(r).error.message, /subject/);
    });
  });

  test('a verifier that throws a non-auth error becomes 401, not 500', async () => {
    const svc = await serviceWith({
      mode: 'required',
      verifyToken: async () => {
        throw new RangeError('internal verifier problem');
      },
    });
    try {
      const r = await svc.app.inject({ url: '/api/v1/whoami', headers: { authorization: 'Bearer abc' } });
      assert.equal(r.statusCode, 401);
      assert.ok(!r.body.includes('internal verifier problem'));
    } finally {
      await svc.close();
    }
  });

  test('tokens are rejected when no verifier is configured', async () => {
    const svc = await serviceWith({ mode: 'local' });
    try {
      const r = await svc.app.inject({ url: '/api/v1/whoami', headers: { authorization: 'Bearer abc' } });
      assert.equal(r.statusCode, 401);
      const local = await svc.app.inject({ url: '/api/v1/whoami' });
      assert.equal(local.statusCode, 200);
    } finally {
      await svc.close();
    }
  });

  test('verified tokens are remembered: exp still applies on every use; cacheTtlMs bounds the trust', async () => {
    // exp one second ahead, no clock tolerance: valid now, expired after the wait, cache or not.
    const v = jwksVerifier({ jwks: () => current, clockToleranceSeconds: 0, cacheTtlMs: 400 });
    let current: JSONWebKeySet = { keys: [ed.jwk] };
    const short = await token(ed, {}, { exp: Math.floor(Date.now() / 1000) + 1 });
    const long = await token(ed, {}, { exp: '10m' });
    assert.equal((await v(short)).id, 'user-123');
    const first = await v(long);
    // A caller mutating its principal does not change what the next request gets.
    first.roles.push('admin');
    assert.deepEqual((await v(long)).roles, ['member']);
    // The key leaves the JWKS: the remembered token is honoured only until cacheTtlMs has passed.
    current = { keys: [es.jwk] };
    assert.equal((await v(long)).id, 'user-123');
    await new Promise((r) => setTimeout(r, 1100));
    await assert.rejects(v(long), /not signed by a known key/);
    current = { keys: [ed.jwk] };
    // The short token was remembered too, but its exp has passed.
    await assert.rejects(v(short), /Token has expired/);
    // A tampered copy of a remembered token is a different string and is checked in full.
    assert.equal((await v(long)).id, 'user-123');
    const [h, p, sig] = long.split('.');
    await assert.rejects(v(`${h}.${p}.${sig!.slice(0, -2)}AA`), UnauthorizedError);
  });

  test('principalFromClaims errors are UnauthorizedError', async () => {
    const v = jwksVerifier({ jwks: { keys: [ed.jwk] } });
    const t = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: 'iam-1' })
      .setExpirationTime('5m')
      .sign(ed.privateKey);
    await assert.rejects(v(t), UnauthorizedError);
  });

  describe('remote JWKS', () => {
    let fetches = 0;
    let keys: JSONWebKeySet;
    const server = createServer((req, res) => {
      if (req.url === '/.well-known/jwks.json') {
        fetches += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(keys));
      } else {
        res.writeHead(404).end();
      }
    });
    let base: string;
    before(async () => {
      keys = { keys: [ed.jwk] };
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    test('fetched once and cached; a forged token is still rejected', async () => {
      const v = jwksVerifier({ jwksUrl: `${base}/.well-known/jwks.json`, issuer: 'photoncloud-iam' });
      const p = await v(await token(ed));
      assert.equal(p.id, 'user-123');
      await v(await token(ed));
      assert.equal(fetches, 1, 'cached');
      await assert.rejects(
        v(await token(rogue)),
        (err: unknown) => err instanceof UnauthorizedError && /signature/i.test(err.message),
      );
    });

    test('an unreachable JWKS → 503 SERVICE_UNAVAILABLE (not the caller’s fault)', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const svc = await serviceWith({
        mode: 'required',
        verifyToken: jwksVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks.json`, timeoutMs: 2000 }),
      });
      try {
        const r = await svc.app.inject({
          url: '/api/v1/whoami',
          headers: { authorization: `Bearer ${await token(ed)}` },
        });
        assert.equal(r.statusCode, 503);
        assert.equal(body(r).error.code, 'SERVICE_UNAVAILABLE');
      } finally {
        await svc.close();
      }
    });
  });
});
