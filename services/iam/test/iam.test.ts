/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically in assertions. */
/**
 * IAM end to end, in-process over a real ChainFire engine: users, bootstrap, passwords and lockout,
 * TOTP, login/refresh with reuse detection, logout and revocation, key rotation, escalation checks,
 * policy validation and the audit query.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat, readFile } from 'node:fs/promises';
import { decodeProtectedHeader } from 'jose';
import { base32Decode } from '../src/core/base32.js';
import { totp } from '../src/credentials/totp.js';
import { captureLog, startHarness } from './helpers.js';

test('users: create, get, list with scope_id, update, delete; validation, 404 and 409', async () => {
  const h = await startHarness();
  try {
    const bob = await h.call('POST', '/api/v1/users', {
      id: 'user-bob',
      name: 'Bob Smith',
      email: 'bob@example.com',
      type: 'user',
    });
    assert.equal(bob.status, 201);
    assert.equal(bob.body.data.id, 'user-bob');
    assert.equal(bob.body.data.status, 'active');
    assert.equal(bob.body.data.has_password, false);
    assert.equal((await h.call('POST', '/api/v1/users', { id: 'user-bob', name: 'Again' })).status, 409);
    const dupMail = await h.call('POST', '/api/v1/users', {
      id: 'user-bob2',
      name: 'B2',
      email: 'bob@example.com',
    });
    assert.equal(dupMail.status, 409);
    const bad = await h.call('POST', '/api/v1/users', { id: 'user-x', name: '' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'VALIDATION_ERROR');
    assert.equal((await h.call('POST', '/api/v1/users', { name: 'Svc', type: 'robot' })).status, 400);
    const svc = await h.call('POST', '/api/v1/users', { name: 'CI', type: 'service_account' });
    assert.equal(svc.status, 201);
    assert.match(svc.body.data.id, /^user-[0-9a-f]{16}$/);

    await h.call('POST', '/api/v1/projects', { id: 'project-prod', name: 'production', org_id: 'org-123' });
    const m = await h.call('POST', '/api/v1/projects/project-prod/members', {
      principal_id: 'user-bob',
      role: 'viewer',
    });
    assert.equal(m.status, 201);
    const scoped = await h.call('GET', '/api/v1/users?scope_id=project-prod');
    assert.deepEqual(
      scoped.body.data.users.map((u: any) => u.id),
      ['user-bob'],
    );
    const all = await h.call('GET', '/api/v1/users?limit=2');
    assert.equal(all.body.meta.total, 3); // admin, bob, the service account
    assert.equal(all.body.data.users.length, 2);
    assert.equal(all.headers.get('x-total-count'), '3');

    const upd = await h.call('PATCH', '/api/v1/users/user-bob', { name: 'Robert', enabled: false });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.data.name, 'Robert');
    assert.equal(upd.body.data.status, 'disabled');
    assert.equal((await h.call('GET', '/api/v1/users/user-nobody')).status, 404);
    assert.equal((await h.call('DELETE', '/api/v1/users/user-bob')).status, 200);
    assert.equal((await h.call('GET', '/api/v1/users/user-bob')).status, 404);
    const members = await h.call('GET', '/api/v1/projects/project-prod/members');
    assert.deepEqual(members.body.data.members, [], 'the deleted user’s bindings went with it');
    // The e-mail is free again.
    assert.equal(
      (await h.call('POST', '/api/v1/users', { id: 'user-bob3', name: 'B3', email: 'bob@example.com' }))
        .status,
      201,
    );
  } finally {
    await h.close();
  }
});

test('bootstrap: first start creates admin, prints the credential once, writes a 0600 file; later starts do not', async () => {
  const log1 = captureLog('warn');
  const h = await startHarness({ logger: log1.logger });
  try {
    const cred = h.iam.bootstrap;
    assert.ok(cred !== undefined);
    const banners = log1
      .lines()
      .filter((l) => typeof l.msg === 'string' && l.msg.includes('administrator account created'));
    assert.equal(banners.length, 1);
    assert.ok(banners[0].msg.includes(cred.password));
    const file = `${h.dataDir}/bootstrap-admin.json`;
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(JSON.parse(await readFile(file, 'utf8')).password, cred.password);
    const login = await h.call('POST', '/api/v1/auth/login', { username: 'admin', password: cred.password });
    assert.equal(login.status, 200);
    assert.deepEqual(login.body.data.user.roles, ['admin']);

    const log2 = captureLog('warn');
    await h.restart({ logger: log2.logger });
    assert.equal(h.iam.bootstrap, undefined);
    assert.equal(
      log2.lines().filter((l) => String(l.msg).includes('administrator account created')).length,
      0,
    );
    assert.equal(JSON.parse(await readFile(file, 'utf8')).password, cred.password, 'file not rewritten');
    // Even with every user gone, the marker keeps bootstrap from running again.
    await h.call('DELETE', '/api/v1/users/admin');
    const log3 = captureLog('warn');
    await h.restart({ logger: log3.logger });
    assert.equal(h.iam.bootstrap, undefined);
  } finally {
    await h.close();
  }
});

test('lockout: N consecutive failures answer 429 with Retry-After, even for the right password; admin reset unlocks', async () => {
  const h = await startHarness({ lockout: { maxFailures: 3, lockSeconds: 120 } });
  try {
    await h.call('POST', '/api/v1/users', { id: 'user-carol', name: 'Carol', password: 'carol-password-1' });
    const wrong = { username: 'user-carol', password: 'nope-nope-nope' };
    assert.equal((await h.call('POST', '/api/v1/auth/login', wrong)).status, 401);
    assert.equal((await h.call('POST', '/api/v1/auth/login', wrong)).status, 401);
    const third = await h.call('POST', '/api/v1/auth/login', wrong);
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'RATE_LIMITED');
    assert.equal(third.headers.get('retry-after'), '120');
    const right = await h.call('POST', '/api/v1/auth/login', {
      username: 'user-carol',
      password: 'carol-password-1',
    });
    assert.equal(right.status, 429, 'locked accounts refuse even the right password');
    // Unknown users get the same 401 as wrong passwords (no lockout state, no enumeration).
    assert.equal(
      (await h.call('POST', '/api/v1/auth/login', { username: 'user-nobody', password: 'x' })).status,
      401,
    );
    // The counter is in the store: a restarted IAM still sees the lock.
    await h.restart();
    assert.equal(
      (await h.call('POST', '/api/v1/auth/login', { username: 'user-carol', password: 'carol-password-1' }))
        .status,
      429,
    );
    assert.equal(
      (await h.call('POST', '/api/v1/users/user-carol/password', { password: 'carol-password-2' })).status,
      200,
    );
    assert.equal(
      (await h.call('POST', '/api/v1/auth/login', { username: 'user-carol', password: 'carol-password-2' }))
        .status,
      200,
    );
    // A success resets the count: two more failures do not lock.
    assert.equal((await h.call('POST', '/api/v1/auth/login', wrong)).status, 401);
    assert.equal((await h.call('POST', '/api/v1/auth/login', wrong)).status, 401);
    assert.equal(
      (await h.call('POST', '/api/v1/auth/login', { username: 'user-carol', password: 'carol-password-2' }))
        .status,
      200,
    );
  } finally {
    await h.close();
  }
});

test('passwords: self-service change needs the current password; others need an admin', async () => {
  const h = await startHarness();
  try {
    await h.call('POST', '/api/v1/users', { id: 'user-dan', name: 'Dan', password: 'dan-password-01' });
    await h.call('POST', '/api/v1/users', { id: 'user-eve', name: 'Eve', password: 'eve-password-01' });
    const dan = (
      await h.call('POST', '/api/v1/auth/login', { username: 'user-dan', password: 'dan-password-01' })
    ).body.data.token;
    const noCurrent = await h.call(
      'POST',
      '/api/v1/users/user-dan/password',
      { password: 'dan-password-02' },
      dan,
    );
    assert.equal(noCurrent.status, 400);
    const wrongCurrent = await h.call(
      'POST',
      '/api/v1/users/user-dan/password',
      { password: 'dan-password-02', current_password: 'x' },
      dan,
    );
    assert.equal(wrongCurrent.status, 403);
    const ok = await h.call(
      'POST',
      '/api/v1/users/user-dan/password',
      { password: 'dan-password-02', current_password: 'dan-password-01' },
      dan,
    );
    assert.equal(ok.status, 200);
    assert.equal(
      (await h.call('POST', '/api/v1/users/user-eve/password', { password: 'hijacked-pass-1' }, dan)).status,
      403,
    );
    const tooShort = await h.call('POST', '/api/v1/users/user-dan/password', { password: 'short' });
    assert.equal(tooShort.status, 400);
  } finally {
    await h.close();
  }
});

test('TOTP: enrol, confirm, then login requires a fresh code (no replay)', async () => {
  const h = await startHarness();
  try {
    await h.call('POST', '/api/v1/users', {
      id: 'user-fay',
      name: 'Fay',
      email: 'fay@example.com',
      password: 'fay-password-01',
    });
    const enrol = await h.call('POST', '/api/v1/users/user-fay/mfa/totp');
    assert.equal(enrol.status, 200);
    assert.match(enrol.body.data.otpauth_uri, /^otpauth:\/\/totp\/PhotonCloud:fay%40example\.com\?secret=/);
    const secret = base32Decode(enrol.body.data.secret)!;
    assert.equal(secret.length, 20);
    // Not required until confirmed.
    assert.equal(
      (await h.call('POST', '/api/v1/auth/login', { username: 'user-fay', password: 'fay-password-01' }))
        .status,
      200,
    );
    assert.equal(
      (
        await h.call('POST', '/api/v1/users/user-fay/mfa/totp/confirm', {
          code: '000000' === totp(secret, Date.now()) ? '111111' : '000000',
        })
      ).status,
      400,
    );
    const prev = totp(secret, Date.now() - 30_000);
    assert.equal(
      (await h.call('POST', '/api/v1/users/user-fay/mfa/totp/confirm', { code: prev })).status,
      200,
    );
    assert.equal((await h.call('GET', '/api/v1/users/user-fay')).body.data.mfa_enabled, true);
    const noCode = await h.call('POST', '/api/v1/auth/login', {
      username: 'fay@example.com',
      password: 'fay-password-01',
    });
    assert.equal(noCode.status, 401);
    assert.equal(noCode.body.error.details.mfa_required, true);
    const code = totp(secret, Date.now());
    const withCode = await h.call('POST', '/api/v1/auth/login', {
      username: 'fay@example.com',
      password: 'fay-password-01',
      mfa_code: code,
    });
    assert.equal(withCode.status, 200);
    const replay = await h.call('POST', '/api/v1/auth/login', {
      username: 'fay@example.com',
      password: 'fay-password-01',
      mfa_code: code,
    });
    assert.equal(replay.status, 401, 'a code is accepted once');
  } finally {
    await h.close();
  }
});

test('refresh: rotation, and reuse of a spent refresh token revokes the whole session', async () => {
  const h = await startHarness();
  try {
    await h.call('POST', '/api/v1/users', { id: 'user-gus', name: 'Gus', password: 'gus-password-01' });
    const l1 = (
      await h.call('POST', '/api/v1/auth/login', { username: 'user-gus', password: 'gus-password-01' })
    ).body.data;
    const r2 = await h.call('POST', '/api/v1/auth/refresh', { refresh_token: l1.refresh_token });
    assert.equal(r2.status, 200);
    const l2 = r2.body.data;
    assert.notEqual(l2.refresh_token, l1.refresh_token);
    assert.equal((await h.call('GET', '/api/v1/auth/whoami', undefined, l2.token)).status, 200);
    // An attacker replays the first refresh token.
    const reuse = await h.call('POST', '/api/v1/auth/refresh', { refresh_token: l1.refresh_token });
    assert.equal(reuse.status, 401);
    assert.match(reuse.body.error.message, /reuse/);
    // The whole family is gone: the newest refresh token and its access token stop working.
    assert.equal(
      (await h.call('POST', '/api/v1/auth/refresh', { refresh_token: l2.refresh_token })).status,
      401,
    );
    const v = await h.call('POST', '/api/v1/auth/verify', { token: l2.token });
    assert.equal(v.body.data.valid, false);
    assert.match(v.body.data.reason, /revoked/);
    assert.equal(
      (await h.call('POST', '/api/v1/auth/refresh', { refresh_token: 'prt_nope_nope' })).status,
      401,
    );
    assert.equal((await h.call('POST', '/api/v1/auth/refresh', {})).status, 400);
  } finally {
    await h.close();
  }
});

test('logout and revoke: access token, refresh session, every token of a principal', async () => {
  const h = await startHarness();
  try {
    await h.call('POST', '/api/v1/users', { id: 'user-hal', name: 'Hal', password: 'hal-password-01' });
    const login = async () =>
      (await h.call('POST', '/api/v1/auth/login', { username: 'user-hal', password: 'hal-password-01' })).body
        .data;
    const s1 = await login();
    const out = await h.call('POST', '/api/v1/auth/logout', { refresh_token: s1.refresh_token }, s1.token);
    assert.deepEqual(out.body.data, { revoked_token: true, revoked_session: true });
    const after = await h.call('GET', '/api/v1/auth/whoami', undefined, s1.token);
    assert.equal(after.status, 401);
    assert.equal(after.body.error.message, 'Token revoked');
    assert.equal(
      (await h.call('POST', '/api/v1/auth/refresh', { refresh_token: s1.refresh_token })).status,
      401,
    );

    const s2 = await login();
    const rv = await h.call('POST', '/api/v1/auth/revoke', { token: s2.token }, s2.token);
    assert.equal(rv.body.data.kind, 'access_token');
    assert.equal((await h.call('POST', '/api/v1/auth/verify', { token: s2.token })).body.data.valid, false);

    const s3 = await login();
    const s4 = await login();
    const all = await h.call('POST', '/api/v1/auth/revoke', { principal_id: 'user-hal' });
    assert.equal(all.body.data.kind, 'principal');
    for (const s of [s3, s4])
      assert.equal((await h.call('POST', '/api/v1/auth/verify', { token: s.token })).body.data.valid, false);
    assert.equal((await h.call('POST', '/api/v1/auth/verify', {})).status, 400);
    const junk = await h.call('POST', '/api/v1/auth/verify', { token: 'not.a.token' });
    assert.equal(junk.status, 200);
    assert.equal(junk.body.data.valid, false);
  } finally {
    await h.close();
  }
});

test('key rotation: new tokens use the new kid; old tokens verify until they expire; the old key then leaves the JWKS', async () => {
  let clock = Date.now();
  const h = await startHarness({ now: () => clock, lifetimes: { maxAccessTtlSeconds: 600 } });
  try {
    await h.call('POST', '/api/v1/users', { id: 'user-ivy', name: 'Ivy' });
    const issue = async () =>
      (await h.call('POST', '/api/v1/auth/token', { principal_id: 'user-ivy', ttl_seconds: 300 })).body.data
        .token as string;
    const oldToken = await issue();
    const oldKid = decodeProtectedHeader(oldToken).kid;
    const rot = await h.call('POST', '/api/v1/auth/keys/rotate');
    assert.equal(rot.status, 200);
    assert.equal(rot.body.data.previous_kid, oldKid);
    const newToken = await issue();
    assert.equal(decodeProtectedHeader(newToken).kid, rot.body.data.kid);
    assert.notEqual(rot.body.data.kid, oldKid);
    const kids = async () =>
      (await h.call('GET', '/.well-known/jwks.json')).body.keys.map((k: any) => k.kid).sort();
    assert.deepEqual(await kids(), [oldKid, rot.body.data.kid].sort());
    assert.equal((await h.call('POST', '/api/v1/auth/verify', { token: oldToken })).body.data.valid, true);
    // Past the old token's expiry: it fails as expired, the new one (same TTL, issued at the same clock) too,
    // so issue another with the new key and move on past the old key's retirement.
    clock += 310_000; // past exp + jose's 5 s clock tolerance
    const expired = await h.call('POST', '/api/v1/auth/verify', { token: oldToken });
    assert.equal(expired.body.data.valid, false);
    assert.match(expired.body.data.reason, /expired/);
    clock += 400_000; // beyond rotation + max TTL (600 s) + 60 s slack
    assert.deepEqual(await kids(), [rot.body.data.kid]);
    const fresh = await issue();
    assert.equal((await h.call('POST', '/api/v1/auth/verify', { token: fresh })).body.data.valid, true);
    // A restarted IAM signs with the rotated key (it is in the store, not in memory).
    await h.restart({ now: () => clock, lifetimes: { maxAccessTtlSeconds: 600 } });
    assert.equal(decodeProtectedHeader(await issue()).kid, rot.body.data.kid);
    assert.equal((await h.call('POST', '/api/v1/auth/verify', { token: fresh })).body.data.valid, true);
  } finally {
    await h.close();
  }
});

test('signing keys are sealed at rest when IAM has a data dir', async () => {
  const h = await startHarness();
  try {
    const { bytes, prefixEnd, text } = await import('@photoncloud/store');
    const p = bytes('/photoncloud/iam/signing-keys/');
    const res = await h.store.range({ key: p, rangeEnd: prefixEnd(p) });
    assert.ok(res.kvs.length >= 1);
    for (const kv of res.kvs) {
      const doc = JSON.parse(text(kv.value));
      assert.equal(doc.private_jwk, undefined);
      assert.equal(typeof doc.sealed_private_jwk, 'string');
      assert.doesNotMatch(text(kv.value), /"d":/);
    }
  } finally {
    await h.close();
  }
});

test('token issue needs an admin; scoped tokens carry project and org; escalation is refused', async () => {
  const h = await startHarness({ auth: { mode: 'required' } });
  try {
    // Required mode: nothing without a token (the bootstrap admin logs in).
    assert.equal((await h.call('GET', '/api/v1/users')).status, 401);
    const admin = await h.adminToken();
    const A = (m: string, p: string, b?: unknown) => h.call(m, p, b, admin);
    await A('POST', '/api/v1/projects', { id: 'proj-a', name: 'A', org_id: 'org-1' });
    await A('POST', '/api/v1/projects', { id: 'proj-b', name: 'B', org_id: 'org-1' });
    await A('POST', '/api/v1/users', { id: 'user-pa', name: 'Project admin', password: 'pa-password-001' });
    await A('POST', '/api/v1/users', { id: 'user-v', name: 'Viewer', password: 'v-password-0001' });
    await A('POST', '/api/v1/users', { id: 'user-new', name: 'Newcomer' });
    assert.equal(
      (await A('POST', '/api/v1/projects/proj-a/members', { principal_id: 'user-pa', role: 'admin' })).status,
      201,
    );
    assert.equal(
      (await A('POST', '/api/v1/projects/proj-a/members', { principal_id: 'user-v', role: 'viewer' })).status,
      201,
    );

    const login = async (u: string, p: string) =>
      (await h.call('POST', '/api/v1/auth/login', { username: u, password: p, scope_id: 'proj-a' })).body
        .data;
    const pa = await login('user-pa', 'pa-password-001');
    const v = await login('user-v', 'v-password-0001');
    const verified = (await h.call('POST', '/api/v1/auth/verify', { token: pa.token })).body.data;
    assert.equal(verified.project_id, 'proj-a');
    assert.equal(verified.org_id, 'org-1');
    assert.deepEqual(verified.roles, ['admin']);

    // Only platform admins issue tokens for others.
    const issue = await h.call(
      'POST',
      '/api/v1/auth/token',
      { principal_id: 'user-new', scope_id: 'proj-a' },
      pa.token,
    );
    assert.equal(issue.status, 403);

    // The viewer reads but cannot grant.
    assert.equal((await h.call('GET', '/api/v1/projects/proj-a/members', undefined, v.token)).status, 200);
    const vGrant = await h.call(
      'POST',
      '/api/v1/projects/proj-a/members',
      { principal_id: 'user-new', role: 'viewer' },
      v.token,
    );
    assert.equal(vGrant.status, 403);

    // The project admin grants within its project…
    const paGrant = await h.call(
      'POST',
      '/api/v1/projects/proj-a/members',
      { principal_id: 'user-new', role: 'editor' },
      pa.token,
    );
    assert.equal(paGrant.status, 201);
    // …but not in another project, and not platform-wide.
    assert.equal(
      (
        await h.call(
          'POST',
          '/api/v1/projects/proj-b/members',
          { principal_id: 'user-new', role: 'viewer' },
          pa.token,
        )
      ).status,
      403,
    );
    const wide = await h.call(
      'POST',
      '/api/v1/bindings',
      { principal_id: 'user-new', role: 'admin', scope: { org_id: 'org-1' } },
      pa.token,
    );
    assert.equal(wide.status, 403);
    // A binding without a scope from a project-scoped caller lands in the caller's project (tenancy).
    const own = await h.call(
      'POST',
      '/api/v1/bindings',
      { principal_id: 'user-new', role: 'viewer' },
      pa.token,
    );
    assert.equal(own.status, 201);
    assert.deepEqual(own.body.data.scope, { org_id: 'org-1', project_id: 'proj-a' });
    // Nor may it change roles (platform-wide names) or see another project.
    assert.equal(
      (await h.call('POST', '/api/v1/roles', { name: 'ops', policy_ids: ['builtin-admin'] }, pa.token))
        .status,
      403,
    );
    assert.equal((await h.call('GET', '/api/v1/projects/proj-b', undefined, pa.token)).status, 403);
    const list = await h.call('GET', '/api/v1/projects', undefined, pa.token);
    assert.deepEqual(
      list.body.data.projects.map((p: any) => p.id),
      ['proj-a'],
    );

    // A custom policy: a project admin can write rules it holds in its project, not beyond.
    const inScope = await h.call(
      'POST',
      '/api/v1/policies',
      {
        name: 'vm-ops',
        project_id: 'proj-a',
        rules: [{ effect: 'Allow', action: 'plasmavmc:vms:*', resource: 'prn:plasmavmc:org-1:proj-a:vms/*' }],
      },
      pa.token,
    );
    assert.equal(inScope.status, 201);
    const beyond = await h.call(
      'POST',
      '/api/v1/policies',
      { name: 'everything', project_id: 'proj-b', rules: [{ effect: 'Allow', action: '*', resource: '*' }] },
      pa.token,
    );
    assert.equal(beyond.status, 403);
    // The viewer holds no write permissions, so it cannot author a policy that grants them.
    const vPolicy = await h.call(
      'POST',
      '/api/v1/policies',
      { name: 'sneaky', rules: [{ effect: 'Allow', action: 'plasmavmc:vms:delete', resource: '*' }] },
      v.token,
    );
    assert.equal(vPolicy.status, 403);
  } finally {
    await h.close();
  }
});

test('policies, roles, bindings: CRUD, condition validation, built-ins are read-only, in-use is 409', async () => {
  const h = await startHarness();
  try {
    const bad = await h.call('POST', '/api/v1/policies', {
      name: 'broken',
      rules: [{ effect: 'Allow', action: 'x:*', resource: '*', condition: "user.role == 'admin' &&" }],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.field, 'rules[0].condition');
    const badEffect = await h.call('POST', '/api/v1/policies', {
      name: 'x',
      rules: [{ effect: 'Maybe', action: '*', resource: '*' }],
    });
    assert.equal(badEffect.status, 400);
    // The orchestrator-api.md example, verbatim.
    const p = await h.call('POST', '/api/v1/policies', {
      name: 'new_policy',
      version: '1.0.0',
      rules: [
        {
          effect: 'Allow',
          resource: 'servers:*',
          action: ['create', 'read'],
          condition: "user.role == 'admin'",
        },
      ],
    });
    assert.equal(p.status, 201);
    const id = p.body.data.id;
    const upd = await h.call('PUT', `/api/v1/policies/${id}`, {
      name: 'updated_policy',
      rules: [{ effect: 'Deny', action: '*', resource: '*' }],
    });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.data.version, 2);
    assert.equal(
      (await h.call('GET', '/api/v1/policies')).body.data.policies.some((x: any) => x.id === 'builtin-admin'),
      true,
    );
    assert.equal(
      (
        await h.call('PUT', '/api/v1/policies/builtin-admin', {
          name: 'x',
          rules: [{ effect: 'Allow', action: '*', resource: '*' }],
        })
      ).status,
      409,
    );

    assert.equal((await h.call('POST', '/api/v1/roles', { name: 'auditor', policy_ids: [id] })).status, 201);
    assert.equal((await h.call('POST', '/api/v1/roles', { name: 'admin', policy_ids: [id] })).status, 409);
    assert.equal(
      (await h.call('POST', '/api/v1/roles', { name: 'ghost', policy_ids: ['pol-missing'] })).status,
      400,
    );
    assert.equal((await h.call('DELETE', `/api/v1/policies/${id}`)).status, 409, 'used by a role');

    await h.call('POST', '/api/v1/users', { id: 'user-jo', name: 'Jo' });
    const b = await h.call('POST', '/api/v1/bindings', {
      principal_id: 'user-jo',
      role: 'auditor',
      scope: { project_id: 'proj-z' },
    });
    assert.equal(b.status, 201);
    assert.equal(
      (await h.call('POST', '/api/v1/bindings', { principal_id: 'user-jo', role: 'auditor', policy_id: id }))
        .status,
      400,
    );
    assert.equal(
      (await h.call('POST', '/api/v1/bindings', { principal_id: 'user-none', role: 'viewer' })).status,
      404,
    );
    assert.equal(
      (await h.call('POST', '/api/v1/bindings', { principal_id: 'user-jo', role: 'nosuchrole' })).status,
      404,
    );
    assert.equal((await h.call('DELETE', '/api/v1/roles/auditor')).status, 409, 'bound');
    const listed = await h.call('GET', '/api/v1/bindings?principal_id=user-jo');
    assert.equal(listed.body.data.bindings.length, 1);
    assert.equal((await h.call('DELETE', `/api/v1/bindings/${b.body.data.id}`)).status, 200);
    assert.equal((await h.call('DELETE', '/api/v1/roles/auditor')).status, 200);
    assert.equal((await h.call('DELETE', `/api/v1/policies/${id}`)).status, 200);
  } finally {
    await h.close();
  }
});

test('audit query: events of every mutation, filters by user, action, resource and time', async () => {
  const h = await startHarness({ auth: { mode: 'required' } });
  try {
    const admin = await h.adminToken();
    const t0 = new Date().toISOString();
    await h.call('POST', '/api/v1/users', { id: 'user-kim', name: 'Kim' }, admin);
    await h.call('POST', '/api/v1/projects', { id: 'proj-k', name: 'K', org_id: 'org-k' }, admin);
    await h.call('DELETE', '/api/v1/users/user-kim', undefined, admin);
    const q = async (qs: string) => {
      // Audit writes are asynchronous (fire-and-forget): poll a bounded number of times.
      for (let i = 0; i < 50; i++) {
        const r = await h.call('GET', `/api/v1/audit?${qs}`, undefined, admin);
        if (r.body.data.events.length > 0) return r;
        await new Promise((res) => setTimeout(res, 20));
      }
      return h.call('GET', `/api/v1/audit?${qs}`, undefined, admin);
    };
    const created = await q('action=iam:users:create');
    assert.equal(created.status, 200);
    assert.ok(
      created.body.data.events.some((e: any) => e.resource_id === 'user-kim' && e.principal.id === 'admin'),
    );
    const byResource = await q('resource=user-kim');
    assert.deepEqual(byResource.body.data.events.map((e: any) => e.method).sort(), ['DELETE', 'POST']);
    const deletes = await q('action=*:delete&user=admin');
    assert.ok(deletes.body.data.events.every((e: any) => e.method === 'DELETE'));
    // Newest first.
    const all = await q(`from=${encodeURIComponent(t0)}&limit=100`);
    const ids = all.body.data.events.map((e: any) => e.id);
    assert.deepEqual(ids, [...ids].sort().reverse());
    const future = await h.call(
      'GET',
      `/api/v1/audit?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`,
      undefined,
      admin,
    );
    assert.equal(future.body.data.events.length, 0);
    assert.equal((await h.call('GET', '/api/v1/audit?from=yesterday', undefined, admin)).status, 400);
    assert.equal((await h.call('GET', '/api/v1/audit?user=nobody', undefined, admin)).body.meta.total, 0);
  } finally {
    await h.close();
  }
});
