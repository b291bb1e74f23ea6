/**
 * Tokens: access tokens are EdDSA JWTs (claims sub, iss, iat, exp, jti, org_id, project_id, roles,
 * admin — what http-kit's `principalFromClaims` reads); refresh tokens are opaque random strings kept
 * hashed in the Store, single use, grouped in families. Using a refresh token twice (a sign it was
 * stolen) revokes the whole family and the last access token issued from it.
 *
 * Revocations use the keys agreed with @photoncloud/authz: `/photoncloud/iam/revoked/<jti>` (with a
 * lease that outlives the token) and `/photoncloud/iam/revoked-principals/<id>` ({not_before}); every
 * service's Authorizer watches them.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ConflictError, UnauthorizedError } from '@photoncloud/errors';
import type { BindingScope, RevokedPrincipal, RevokedToken } from '@photoncloud/authz';
import type { JWTPayload } from 'jose';
import { decodeJwt } from 'jose';
import type { Directory, StoredUser } from '../storage/directory.js';
import { bindingCovers } from '../storage/directory.js';
import { K } from '../storage/keys.js';
import type { Keyring } from './keyring.js';

/** Token lifetimes. */
export interface TokenLifetimes {
  /** Default access token lifetime (s); default 3600 (the guide's example). */
  accessTtlSeconds: number;
  /** Longest access token a caller may ask for (s); default 86400. */
  maxAccessTtlSeconds: number;
  /** Refresh token lifetime (s); default 7 days. */
  refreshTtlSeconds: number;
}

/** Default lifetimes. */
export const DEFAULT_LIFETIMES: TokenLifetimes = {
  accessTtlSeconds: 3600,
  maxAccessTtlSeconds: 86_400,
  refreshTtlSeconds: 7 * 86_400,
};

/** Where a token applies, from a `scope_id`. */
export interface ResolvedScope {
  scope_id?: string;
  org_id?: string;
  project_id?: string;
}

/** An issued access token. */
export interface AccessToken {
  token: string;
  jti: string;
  exp: number;
  roles: string[];
  scope: ResolvedScope;
}

interface StoredRefresh {
  family: string;
  user_id: string;
  scope_id?: string;
  exp: number;
  used: boolean;
}

interface StoredFamily {
  user_id: string;
  revoked: boolean;
  last_jti?: string;
  last_exp?: number;
}

/** Result of verifying a token. */
export type Verification =
  | { valid: true; claims: JWTPayload & { sub: string; exp: number; jti: string } }
  | { valid: false; reason: string };

const JOSE_REASONS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'Token has expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'Token signature is invalid',
  ERR_JWKS_NO_MATCHING_KEY: 'Token was not signed by a known key',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'Token claims are not valid here',
  ERR_JOSE_ALG_NOT_ALLOWED: 'Token algorithm is not allowed',
};

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Issues, verifies, refreshes and revokes tokens. */
export class TokenService {
  private readonly now: () => number;

  constructor(
    private readonly dir: Directory,
    readonly keyring: Keyring,
    readonly lifetimes: TokenLifetimes = DEFAULT_LIFETIMES,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  private get json() {
    return this.dir.json;
  }

  /**
   * A `scope_id` → org/project: an existing project gives its project and org; an existing org gives
   * the org; an unknown ID is taken as a project ID (the guide's Example 3 scopes to `project-prod`
   * without creating it; only admins can issue such tokens).
   */
  async resolveScope(scopeId: string | undefined): Promise<ResolvedScope> {
    if (scopeId === undefined) return {};
    const project = await this.dir.findProject(scopeId);
    if (project !== undefined) return { scope_id: scopeId, project_id: project.id, org_id: project.org_id };
    const org = await this.json.get(K.org(scopeId));
    if (org !== undefined) return { scope_id: scopeId, org_id: scopeId };
    return { scope_id: scopeId, project_id: scopeId };
  }

  /** Role names the principal holds in `scope` (platform-wide bindings count everywhere), and admin. */
  async rolesIn(principalId: string, scope: BindingScope): Promise<{ roles: string[]; admin: boolean }> {
    const bindings = await this.dir.bindingsOf(principalId);
    const roles = new Set<string>();
    let admin = false;
    for (const b of bindings) {
      if (b.role === undefined || !bindingCovers(b.scope, scope)) continue;
      roles.add(b.role);
      if (b.role === 'admin' && b.scope.org_id === undefined && b.scope.project_id === undefined)
        admin = true;
    }
    return { roles: [...roles].sort(), admin };
  }

  /** Issue an access token for `user` in `scopeId`. */
  async issueAccess(
    user: StoredUser,
    opts: { scopeId?: string; ttlSeconds?: number; roles?: string[]; extra?: JWTPayload } = {},
  ): Promise<AccessToken> {
    if (user.status !== 'active') throw new ConflictError(`User ${user.id} is disabled`);
    const scope = await this.resolveScope(opts.scopeId);
    const bindingScope: BindingScope = {};
    if (scope.org_id !== undefined) bindingScope.org_id = scope.org_id;
    if (scope.project_id !== undefined) bindingScope.project_id = scope.project_id;
    const held = await this.rolesIn(user.id, bindingScope);
    const roles = opts.roles ?? held.roles;
    const ttl = Math.min(
      opts.ttlSeconds ?? this.lifetimes.accessTtlSeconds,
      this.lifetimes.maxAccessTtlSeconds,
    );
    const jti = randomUUID();
    const claims: JWTPayload = {
      sub: user.id,
      jti,
      ptype: user.type,
      roles,
      // Platform admin only with a platform-wide admin binding, and only if the token keeps that role.
      admin: held.admin && roles.includes('admin'),
      ...(scope.org_id === undefined ? {} : { org_id: scope.org_id }),
      ...(scope.project_id === undefined ? {} : { project_id: scope.project_id }),
      ...(scope.scope_id === undefined ? {} : { scope_id: scope.scope_id }),
      ...opts.extra,
    };
    const { token, exp } = await this.keyring.sign(claims, ttl);
    return { token, jti, exp, roles, scope };
  }

  /** Verify signature, expiry and revocation of an access token; never throws for a bad token. */
  async verify(token: string): Promise<Verification> {
    let claims: JWTPayload;
    try {
      claims = await this.keyring.verify(token);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return {
        valid: false,
        reason: (typeof code === 'string' ? JOSE_REASONS[code] : undefined) ?? 'Token is malformed',
      };
    }
    if (typeof claims.sub !== 'string' || typeof claims.jti !== 'string' || typeof claims.exp !== 'number') {
      return { valid: false, reason: 'Token lacks sub, jti or exp' };
    }
    const revoked = await this.revocationOf(claims.jti, claims.sub, claims.iat ?? 0);
    if (revoked !== undefined) return { valid: false, reason: revoked };
    return { valid: true, claims: claims as JWTPayload & { sub: string; exp: number; jti: string } };
  }

  /** Why the token is revoked, or `undefined` when it is not. */
  async revocationOf(jti: string, sub: string, iat: number): Promise<string | undefined> {
    if ((await this.json.get<RevokedToken>(K.revoked(jti))) !== undefined) return 'Token has been revoked';
    const p = await this.json.get<RevokedPrincipal>(K.revokedPrincipal(sub));
    if (p !== undefined && iat < p.value.not_before)
      return 'Token has been revoked (all tokens of the principal)';
    return undefined;
  }

  /** Revoke one access token (by jti) until it expires. */
  async revokeJti(jti: string, exp: number): Promise<void> {
    const ttl = exp - Math.floor(this.now() / 1000) + 60;
    if (ttl <= 0) return;
    const lease = await this.json.lease(ttl);
    const value: RevokedToken = { jti, exp };
    await this.json.put(K.revoked(jti), value, lease);
  }

  /** Revoke every token of `principalId` issued until now (user disabled/deleted, logout everywhere). */
  async revokePrincipal(principalId: string): Promise<void> {
    // +1: a token issued earlier in this same second is revoked too (iat has second precision).
    const value: RevokedPrincipal = { not_before: Math.floor(this.now() / 1000) + 1 };
    await this.json.put(K.revokedPrincipal(principalId), value);
  }

  /** A new refresh token in `family` (a new family when absent), with the access token it goes with. */
  async issueRefresh(
    userId: string,
    scopeId: string | undefined,
    access: AccessToken,
    family?: string,
  ): Promise<{ token: string; exp: number; family: string }> {
    const fam = family ?? randomBytes(12).toString('hex');
    const token = `prt_${fam}_${randomBytes(32).toString('base64url')}`;
    const exp = Math.floor(this.now() / 1000) + this.lifetimes.refreshTtlSeconds;
    const lease = await this.json.lease(this.lifetimes.refreshTtlSeconds + 60);
    const doc: StoredRefresh = {
      family: fam,
      user_id: userId,
      exp,
      used: false,
      ...(scopeId === undefined ? {} : { scope_id: scopeId }),
    };
    await this.json.put(K.refresh(sha256(token)), doc, lease);
    const famDoc: StoredFamily = {
      user_id: userId,
      revoked: false,
      last_jti: access.jti,
      last_exp: access.exp,
    };
    if (family === undefined) await this.json.put(K.refreshFamily(fam), famDoc, lease);
    else {
      await this.json.update<StoredFamily>(K.refreshFamily(fam), (cur) =>
        cur === undefined ? famDoc : { ...cur.value, last_jti: access.jti, last_exp: access.exp },
      );
    }
    return { token, exp, family: fam };
  }

  /** Revoke a refresh family and the last access token issued from it. */
  async revokeFamily(family: string): Promise<boolean> {
    const cur = await this.json.get<StoredFamily>(K.refreshFamily(family));
    if (cur === undefined) return false;
    await this.json.update<StoredFamily>(K.refreshFamily(family), (c) =>
      c === undefined ? undefined : { ...c.value, revoked: true },
    );
    if (cur.value.last_jti !== undefined && cur.value.last_exp !== undefined) {
      await this.revokeJti(cur.value.last_jti, cur.value.last_exp);
    }
    return true;
  }

  /** The family a refresh token claims to belong to, if it is one of ours. */
  async refreshOwner(token: string): Promise<{ family: string; user_id: string } | undefined> {
    const doc = await this.json.get<StoredRefresh>(K.refresh(sha256(token)));
    return doc === undefined ? undefined : { family: doc.value.family, user_id: doc.value.user_id };
  }

  /**
   * Exchange a refresh token for a new pair (rotation). Reuse of a spent token revokes its family.
   * Returns the user, scope and family for the caller to issue the new pair with.
   */
  async consumeRefresh(token: string): Promise<{ user: StoredUser; scopeId?: string; family: string }> {
    const invalid = (msg = 'Invalid or expired refresh token') => new UnauthorizedError(msg);
    const key = K.refresh(sha256(token));
    const doc = await this.json.get<StoredRefresh>(key);
    if (doc === undefined) throw invalid();
    const fam = await this.json.get<StoredFamily>(K.refreshFamily(doc.value.family));
    if (fam === undefined || fam.value.revoked) throw invalid('This session has been revoked');
    if (doc.value.exp <= Math.floor(this.now() / 1000)) throw invalid();
    const spend =
      !doc.value.used && (await this.json.swap(key, doc.modRevision, { ...doc.value, used: true }));
    if (!spend) {
      await this.revokeFamily(doc.value.family);
      throw invalid('Refresh token reuse detected: the session has been revoked');
    }
    const user = await this.dir.findUser(doc.value.user_id);
    if (user === undefined || user.status !== 'active')
      throw invalid('The user no longer exists or is disabled');
    return {
      user,
      family: doc.value.family,
      ...(doc.value.scope_id === undefined ? {} : { scopeId: doc.value.scope_id }),
    };
  }

  /** Read a JWT's claims without verifying (only to route a revocation request). */
  static peek(token: string): JWTPayload | undefined {
    try {
      return decodeJwt(token);
    } catch {
      return undefined;
    }
  }
}
