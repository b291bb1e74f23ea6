/**
 * A real token verifier: JWTs signed by IAM (EdDSA; ES256 and RS256 also accepted) checked against a
 * JWKS, either fetched from IAM's URL (cached, refetched on an unknown `kid`) or given as an object.
 * Expiry, not-before, issuer and audience are enforced by jose; claims become a `Principal`.
 *
 * A client sends the same token with every request, so tokens that verified are remembered (bounded,
 * `cacheSize`): a repeat skips the signature check but still honours `exp` on every use, and is trusted
 * for at most `cacheTtlMs` (so a key withdrawn from the JWKS stops being honoured within that time).
 * Revocation is not this cache's concern: services check it on every request (`isRevoked`).
 */
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';
import { ServiceUnavailableError, UnauthorizedError } from '@photoncloud/errors';
import type { Principal, TokenVerifier } from './auth.js';

/** Algorithms accepted by default. `none` and HMAC are never accepted. */
export const DEFAULT_JWT_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;

/** Options of `jwksVerifier`: exactly one of `jwksUrl` or `jwks`. */
export interface JwksVerifierOptions {
  /** IAM's JWKS endpoint; fetched lazily and cached (`cacheMaxAgeMs`). */
  jwksUrl?: string;
  /** A key set held locally (e.g. by IAM itself); a function is re-read on every verification. */
  jwks?: JSONWebKeySet | (() => JSONWebKeySet);
  /** Required `iss`. */
  issuer?: string;
  /** Required `aud` (one of). */
  audience?: string | string[];
  /** Allowed `alg` values; default EdDSA, ES256, RS256. */
  algorithms?: string[];
  /** Clock tolerance for exp/nbf, seconds; default 5. */
  clockToleranceSeconds?: number;
  /** Remote key cache lifetime; default 10 minutes. */
  cacheMaxAgeMs?: number;
  /** Remote fetch timeout; default 5 s. */
  timeoutMs?: number;
  /** Map verified claims to a principal; default `principalFromClaims`. */
  mapClaims?: (claims: JWTPayload) => Principal;
  /** How many verified tokens are remembered; default 10 000, 0 turns the cache off. */
  cacheSize?: number;
  /** How long a verified token is trusted without a new signature check; default 60 s. */
  cacheTtlMs?: number;
}

/** A verified token: its principal and until when it may be used without a new check. */
interface CachedToken {
  principal: Principal;
  /** min(exp + tolerance, verified at + cacheTtlMs), epoch ms. */
  validUntil: number;
}

function stringClaim(claims: JWTPayload, name: string): string | undefined {
  const v = claims[name];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * Default claim mapping: `sub` → id (required), `org_id`, `project_id`, `roles` (string array),
 * `admin: true` → isAdmin, `jti` → tokenId.
 */
export function principalFromClaims(claims: JWTPayload): Principal {
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) {
    throw new UnauthorizedError('Token has no subject (sub)', {
      headers: { 'WWW-Authenticate': 'Bearer realm="photoncloud", error="invalid_token"' },
    });
  }
  const rolesClaim = claims['roles'];
  const roles = Array.isArray(rolesClaim) ? rolesClaim.filter((r): r is string => typeof r === 'string') : [];
  const p: Principal = {
    id: claims.sub,
    kind: 'token',
    roles,
    isAdmin: claims['admin'] === true,
    claims: { ...claims },
  };
  const orgId = stringClaim(claims, 'org_id');
  if (orgId !== undefined) p.orgId = orgId;
  const projectId = stringClaim(claims, 'project_id');
  if (projectId !== undefined) p.projectId = projectId;
  if (typeof claims.jti === 'string') p.tokenId = claims.jti;
  return p;
}

const INVALID = 'Bearer realm="photoncloud", error="invalid_token"';

/** jose's failure codes → what the caller is told. Unknown failures are "invalid token". */
const REASONS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'Token has expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'Token signature is invalid',
  ERR_JOSE_ALG_NOT_ALLOWED: 'Token algorithm is not allowed',
  ERR_JWKS_NO_MATCHING_KEY: 'Token was not signed by a known key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'Token key is ambiguous (no kid)',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'Token claims are not valid here',
  ERR_JWS_INVALID: 'Token is malformed',
  ERR_JWT_INVALID: 'Token is malformed',
  ERR_JOSE_NOT_SUPPORTED: 'Token algorithm is not supported',
};

/** True for failures to reach or read the remote JWKS (the service's problem, not the caller's). */
function isKeyFetchFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID') return true;
  if (code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/i.test(err.message)) return true;
  // fetch() itself failing (connection refused, DNS) surfaces as a TypeError from undici.
  return err.name === 'TypeError' && /fetch/i.test(err.message);
}

/** Build a `TokenVerifier` for JWTs signed by keys in a JWKS. */
export function jwksVerifier(opts: JwksVerifierOptions): TokenVerifier {
  if ((opts.jwksUrl === undefined) === (opts.jwks === undefined)) {
    throw new Error('jwksVerifier: give exactly one of jwksUrl or jwks');
  }
  let getKey: JWTVerifyGetKey;
  if (opts.jwksUrl !== undefined) {
    getKey = createRemoteJWKSet(new URL(opts.jwksUrl), {
      cacheMaxAge: opts.cacheMaxAgeMs ?? 600_000,
      timeoutDuration: opts.timeoutMs ?? 5_000,
      cooldownDuration: 30_000,
    });
  } else {
    const source = opts.jwks!;
    if (typeof source === 'function') {
      // Rebuild only when the set object changes (key rotation), not on every request.
      let lastSet: JSONWebKeySet | undefined;
      let lastGetKey: JWTVerifyGetKey | undefined;
      getKey = (header, token) => {
        const set = source();
        if (set !== lastSet || lastGetKey === undefined) {
          lastSet = set;
          lastGetKey = createLocalJWKSet(set);
        }
        return lastGetKey(header, token);
      };
    } else {
      getKey = createLocalJWKSet(source);
    }
  }
  const algorithms = opts.algorithms ?? [...DEFAULT_JWT_ALGORITHMS];
  const map = opts.mapClaims ?? principalFromClaims;
  const tolerance = opts.clockToleranceSeconds ?? 5;
  const cacheSize = opts.cacheSize ?? 10_000;
  const cacheTtlMs = opts.cacheTtlMs ?? 60_000;
  const cache = new Map<string, CachedToken>();
  return async (token: string): Promise<Principal> => {
    const now = Date.now();
    const hit = cacheSize > 0 ? cache.get(token) : undefined;
    if (hit !== undefined) {
      if (now < hit.validUntil) return { ...hit.principal, roles: [...hit.principal.roles] };
      cache.delete(token);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms,
        issuer: opts.issuer,
        audience: opts.audience,
        clockTolerance: tolerance,
      }));
    } catch (err) {
      if (isKeyFetchFailure(err)) {
        throw new ServiceUnavailableError('Cannot fetch the signing keys (JWKS) to verify the token', 1, {
          cause: err,
        });
      }
      const code = (err as { code?: unknown }).code;
      const reason = (typeof code === 'string' ? REASONS[code] : undefined) ?? 'Invalid token';
      throw new UnauthorizedError(reason, { cause: err, headers: { 'WWW-Authenticate': INVALID } });
    }
    const principal = map(payload);
    if (cacheSize > 0) {
      const expiry = typeof payload.exp === 'number' ? (payload.exp + tolerance) * 1000 : Infinity;
      // Oldest first out: Map keeps insertion order.
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
      cache.set(token, { principal, validUntil: Math.min(expiry, now + cacheTtlMs) });
    }
    return { ...principal, roles: [...principal.roles] };
  };
}
