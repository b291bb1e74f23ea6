/**
 * `/api/v1/auth/*` (guide §3 "Token Operations", orchestrator-api.md "Authentication") and the JWKS.
 * Public routes (login, refresh, verify, JWKS) document `security: []`, which is how tests and clients
 * tell them from the authenticated ones.
 */
import { Type } from '@sinclair/typebox';
import { BadRequestError, ForbiddenError, NotFoundError, ValidationError } from '@photoncloud/errors';
import { envelope, ok, responses, setAuditResource } from '@photoncloud/http-kit';
import type { ServiceApp } from '@photoncloud/http-kit';
import {
  IssueTokenBody,
  IssuedToken,
  Jwks,
  LoginBody,
  LogoutBody,
  RefreshBody,
  RevokeBody,
  RevokeResult,
  RotateResult,
  TokenPair,
  VerifyBody,
  VerifyResult,
  WhoAmI,
} from '@photoncloud/iam-api';
import type { IamContext } from '../iam-context.js';
import type { StoredUser } from '../storage/directory.js';
import { TokenService } from '../tokens/token-service.js';
import { callerOf, requireAdmin } from './guards.js';

function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const PUBLIC = { public: true, authz: { skip: true } } as const;
const SELF_SERVICE = { authz: { skip: true } } as const;

/** Register the auth routes. */
export function registerAuthRoutes(app: ServiceApp, ctx: IamContext): void {
  const { tokens, dir, creds, keyring } = ctx;

  async function tokenPair(user: StoredUser, scopeId: string | undefined, family?: string) {
    const access = await tokens.issueAccess(user, scopeId === undefined ? {} : { scopeId });
    const refresh = await tokens.issueRefresh(user.id, scopeId, access, family);
    return {
      token: access.token,
      token_type: 'Bearer' as const,
      expires_at: rfc3339(access.exp),
      refresh_token: refresh.token,
      refresh_expires_at: rfc3339(refresh.exp),
      user: {
        id: user.id,
        username: user.id,
        ...(user.email === undefined ? {} : { email: user.email }),
        roles: access.roles,
      },
    };
  }

  app.post(
    '/api/v1/auth/token',
    {
      schema: {
        tags: ['auth'],
        summary: 'Issue a token for a principal (administrators)',
        description:
          'Guide §3. scope_id is a project ID (the token gets project_id and its org_id) or an org ID. Needs a platform administrator (in local mode, loopback callers without a token are one).',
        body: IssueTokenBody,
        response: responses({ 200: envelope(IssuedToken) }),
      },
    },
    async (request) => {
      requireAdmin(request, 'Issuing tokens for other principals');
      const body = request.body;
      const user = await dir.findUser(body.principal_id);
      if (user === undefined) {
        throw new NotFoundError('principal', body.principal_id, {
          hint: 'Create it with POST /api/v1/users first',
        });
      }
      if (body.principal_type !== undefined && body.principal_type !== user.type) {
        throw new ValidationError('principal_type', 'const', `${body.principal_id} is a ${user.type}`);
      }
      setAuditResource(request, body.principal_id);
      const access = await tokens.issueAccess(user, {
        ...(body.scope_id === undefined ? {} : { scopeId: body.scope_id }),
        ...(body.ttl_seconds === undefined ? {} : { ttlSeconds: body.ttl_seconds }),
        ...(body.roles === undefined ? {} : { roles: body.roles }),
      });
      return ok(request, {
        token: access.token,
        token_type: 'Bearer' as const,
        expires_at: rfc3339(access.exp),
        principal_id: user.id,
        ...(body.scope_id === undefined ? {} : { scope_id: body.scope_id }),
      });
    },
  );

  app.post(
    '/api/v1/auth/verify',
    {
      config: PUBLIC,
      schema: {
        tags: ['auth'],
        summary: 'Verify a token',
        description:
          '200 either way: valid true with its principal and scope, or valid false with a reason (bad signature, expired, revoked).',
        security: [],
        body: VerifyBody,
        response: responses({ 200: envelope(VerifyResult) }),
      },
    },
    async (request) => {
      const v = await tokens.verify(request.body.token);
      if (!v.valid) return ok(request, { valid: false, reason: v.reason });
      const c = v.claims;
      const str = (k: string) => (typeof c[k] === 'string' ? (c[k] as string) : undefined);
      const scope = str('scope_id') ?? str('project_id') ?? str('org_id');
      return ok(request, {
        valid: true,
        principal_id: c.sub,
        ...(scope === undefined ? {} : { scope_id: scope }),
        ...(str('org_id') === undefined ? {} : { org_id: str('org_id')! }),
        ...(str('project_id') === undefined ? {} : { project_id: str('project_id')! }),
        roles: Array.isArray(c['roles'])
          ? (c['roles'] as unknown[]).filter((r): r is string => typeof r === 'string')
          : [],
        expires_at: rfc3339(c.exp),
      });
    },
  );

  app.post(
    '/api/v1/auth/login',
    {
      config: { ...PUBLIC, idempotency: false },
      schema: {
        tags: ['auth'],
        summary: 'Log in with a password (and a TOTP code when enrolled)',
        description:
          'Returns an access token and a single-use refresh token. 401 for wrong credentials (details.mfa_required when a TOTP code is needed), 429 RATE_LIMITED with Retry-After while the account is locked after repeated failures.',
        security: [],
        body: LoginBody,
        response: responses({ 200: envelope(TokenPair) }),
      },
    },
    async (request) => {
      const b = request.body;
      const user = await creds.checkLogin(b.username, b.password, b.mfa_code);
      setAuditResource(request, user.id);
      return ok(request, await tokenPair(user, b.scope_id));
    },
  );

  app.post(
    '/api/v1/auth/refresh',
    {
      config: { ...PUBLIC, idempotency: false },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for a new token pair',
        description:
          'Refresh tokens are single use: each refresh returns a new one. Presenting a spent refresh token again revokes the whole session (reuse detection).',
        security: [],
        body: RefreshBody,
        response: responses({ 200: envelope(TokenPair) }),
      },
    },
    async (request) => {
      const rt = request.body.refresh_token ?? request.body.token;
      if (rt === undefined) throw new ValidationError('refresh_token', 'required');
      const { user, scopeId, family } = await tokens.consumeRefresh(rt);
      setAuditResource(request, user.id);
      return ok(request, await tokenPair(user, scopeId, family));
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      config: SELF_SERVICE,
      schema: {
        tags: ['auth'],
        summary: 'Log out: revoke this access token and, when given, its refresh token’s session',
        body: Type.Optional(LogoutBody),
        response: responses({
          200: envelope(Type.Object({ revoked_token: Type.Boolean(), revoked_session: Type.Boolean() })),
        }),
      },
    },
    async (request) => {
      const p = callerOf(request);
      let revokedToken = false;
      const exp = p.claims?.['exp'];
      if (p.tokenId !== undefined && typeof exp === 'number') {
        await tokens.revokeJti(p.tokenId, exp);
        revokedToken = true;
      }
      let revokedSession = false;
      const rt = request.body?.refresh_token;
      if (rt !== undefined) {
        const owner = await tokens.refreshOwner(rt);
        if (owner !== undefined && (owner.user_id === p.id || p.isAdmin)) {
          revokedSession = await tokens.revokeFamily(owner.family);
        }
      }
      return ok(request, { revoked_token: revokedToken, revoked_session: revokedSession });
    },
  );

  app.post(
    '/api/v1/auth/revoke',
    {
      config: SELF_SERVICE,
      schema: {
        tags: ['auth'],
        summary: 'Revoke an access token, a refresh token’s session, or every token of a principal',
        description:
          'Give `token` (your own tokens; administrators any) or `principal_id` (yourself, or administrators). Every service sees the revocation through its store watch within a second.',
        body: RevokeBody,
        response: responses({ 200: envelope(RevokeResult) }),
      },
    },
    async (request) => {
      const p = callerOf(request);
      const b = request.body;
      if ((b.token === undefined) === (b.principal_id === undefined)) {
        throw new BadRequestError('Give exactly one of token and principal_id');
      }
      if (b.principal_id !== undefined) {
        if (b.principal_id !== p.id && !p.isAdmin)
          throw new ForbiddenError('Only administrators revoke other principals’ tokens');
        await tokens.revokePrincipal(b.principal_id);
        setAuditResource(request, b.principal_id);
        return ok(request, { revoked: true, kind: 'principal' as const, id: b.principal_id });
      }
      const token = b.token!;
      if (token.startsWith('prt_')) {
        const owner = await tokens.refreshOwner(token);
        if (owner === undefined) throw new NotFoundError('refresh token');
        if (owner.user_id !== p.id && !p.isAdmin) throw new ForbiddenError('Not your refresh token');
        await tokens.revokeFamily(owner.family);
        return ok(request, { revoked: true, kind: 'refresh_family' as const, id: owner.family });
      }
      // Only tokens we signed are revoked (a forged token needs no revocation and must not fill the store).
      let claims;
      try {
        claims = await keyring.verify(token);
      } catch {
        const peek = TokenService.peek(token);
        if (peek === undefined)
          throw new ValidationError('token', 'format', 'token is not a JWT or a refresh token');
        throw new ValidationError('token', 'signature', 'token was not issued by this IAM or has expired');
      }
      if (
        typeof claims.jti !== 'string' ||
        typeof claims.exp !== 'number' ||
        typeof claims.sub !== 'string'
      ) {
        throw new ValidationError('token', 'claims', 'token lacks jti, exp or sub');
      }
      if (claims.sub !== p.id && !p.isAdmin) throw new ForbiddenError('Not your token');
      await tokens.revokeJti(claims.jti, claims.exp);
      setAuditResource(request, claims.jti);
      return ok(request, { revoked: true, kind: 'access_token' as const, id: claims.jti });
    },
  );

  app.get(
    '/api/v1/auth/whoami',
    {
      config: SELF_SERVICE,
      schema: {
        tags: ['auth'],
        summary: 'Who the caller is (principal, scope, roles)',
        response: responses({ 200: envelope(WhoAmI) }),
      },
    },
    async (request) => {
      const p = callerOf(request);
      const exp = p.claims?.['exp'];
      return ok(request, {
        principal_id: p.id,
        kind: p.kind,
        ...(p.orgId === undefined ? {} : { org_id: p.orgId }),
        ...(p.projectId === undefined ? {} : { project_id: p.projectId }),
        roles: p.roles,
        admin: p.isAdmin,
        ...(typeof exp === 'number' ? { expires_at: rfc3339(exp) } : {}),
      });
    },
  );

  const jwksRoute = {
    config: PUBLIC,
    schema: {
      tags: ['auth'],
      summary: 'Public keys that verify IAM’s tokens (JWKS, not wrapped in the envelope)',
      security: [],
      response: { 200: Jwks },
    },
  };
  const jwksHandler = async (_request: unknown, reply: { header(n: string, v: string): unknown }) => {
    reply.header('Cache-Control', 'public, max-age=60');
    return keyring.jwks();
  };
  app.get('/.well-known/jwks.json', jwksRoute, jwksHandler);
  app.get('/api/v1/auth/jwks', jwksRoute, jwksHandler);

  app.post(
    '/api/v1/auth/keys/rotate',
    {
      schema: {
        tags: ['auth'],
        summary: 'Rotate the token signing key (administrators)',
        description:
          'The new key signs from now on; the previous key stays in the JWKS until the tokens it signed have expired.',
        response: responses({ 200: envelope(RotateResult) }),
      },
    },
    async (request) => {
      requireAdmin(request, 'Rotating signing keys');
      const r = await keyring.rotate();
      setAuditResource(request, r.kid);
      return ok(request, {
        kid: r.kid,
        ...(r.previous_kid === undefined ? {} : { previous_kid: r.previous_kid }),
        ...(r.previous_retires_at === undefined
          ? {}
          : { previous_retires_at: rfc3339(Math.floor(r.previous_retires_at / 1000)) }),
      });
    },
  );
}
