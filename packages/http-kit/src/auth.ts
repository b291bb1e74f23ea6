/**
 * Authentication (ARCHITECTURE.md §3, "Identity"). Two modes:
 * - `required`: every request except public routes (`/health`) needs `Authorization: Bearer <jwt>`.
 * - `local`: a request without a token from a loopback peer acts as the local admin (as with etcd or
 *   Docker's socket); without a token from anywhere else it is 401.
 * A token, when present, is always verified, in both modes: a bad token is never "downgraded" to the
 * local admin.
 */
import { ServiceUnavailableError, UnauthorizedError } from '@photoncloud/errors';
import type { FastifyRequest } from 'fastify';

/** Who is making a request. */
export interface Principal {
  /** Subject: user or service account ID (the token's `sub`). */
  id: string;
  /** How the principal was established. */
  kind: 'token' | 'local';
  orgId?: string;
  projectId?: string;
  roles: string[];
  /** Platform administrator. */
  isAdmin: boolean;
  /** The token's `jti`, for revocation checks. */
  tokenId?: string;
  /** All verified claims, for policies that need more. */
  claims?: Record<string, unknown>;
}

/** The principal of unauthenticated loopback requests in `local` mode. */
export const LOCAL_ADMIN: Readonly<Principal> = Object.freeze({
  id: 'local-admin',
  kind: 'local',
  roles: ['admin'],
  isAdmin: true,
});

/** Verifies a bearer token; throws `UnauthorizedError` (or `ServiceUnavailableError`) when it cannot. */
export type TokenVerifier = (token: string) => Promise<Principal>;

/** Authentication settings of one service. */
export interface AuthOptions {
  mode: 'required' | 'local';
  /** Token verification; without it every presented token is rejected (401). */
  verifyToken?: TokenVerifier;
  /** Extra paths served without authentication (exact match, no query). `/health` always is. */
  publicPaths?: string[];
  /**
   * Authorization of an authenticated request to a non-public route (e.g. `httpAuthorizer` from
   * `@photoncloud/authz`); throws (typically `ForbiddenError`, 403) to refuse. Runs after the body is parsed
   * and before validation; not called for the local admin.
   */
  authorize?: (request: FastifyRequest, principal: Principal) => Promise<void>;
  /**
   * Revocation check of a token principal; `true` answers 401 "Token revoked" on non-public routes (public
   * routes then treat the request as anonymous).
   */
  isRevoked?: (principal: Principal) => boolean | Promise<boolean>;
}

/** The 401 of a revoked token. */
export function tokenRevokedError(): UnauthorizedError {
  return new UnauthorizedError('Token revoked', {
    headers: {
      'WWW-Authenticate': 'Bearer realm="photoncloud", error="invalid_token", error_description="revoked"',
    },
  });
}

/**
 * After `authenticate`: refuse (401) a revoked token principal. On public routes a revoked token only
 * loses its identity (the request continues anonymously).
 */
export async function checkRevocation(
  request: FastifyRequest,
  opts: AuthOptions,
  isPublic: boolean,
): Promise<void> {
  const p = request.principal;
  if (p === null || p.kind !== 'token' || opts.isRevoked === undefined) return;
  if (!(await opts.isRevoked(p))) return;
  if (isPublic) {
    request.principal = null;
    return;
  }
  throw tokenRevokedError();
}

/** True when `address` is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase();
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The token of an `Authorization: Bearer <token>` value (RFC 6750 characters); undefined when malformed. */
export function parseBearer(value: string): string | undefined {
  return /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(value)?.[1];
}

/** Extract the bearer token; `undefined` when there is no Authorization header; 401 when it is malformed. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (h === undefined || h === '') return undefined;
  const token = parseBearer(h);
  if (token === undefined) {
    throw new UnauthorizedError('Malformed Authorization header', {
      headers: { 'WWW-Authenticate': 'Bearer realm="photoncloud", error="invalid_request"' },
    });
  }
  return token;
}

/**
 * Establish `request.principal` according to `opts`; throws 401 when the request may not proceed.
 * `isPublic` routes still verify a presented token (so handlers can use it) but never require one.
 */
export async function authenticate(
  request: FastifyRequest,
  opts: AuthOptions,
  isPublic: boolean,
): Promise<void> {
  let token: string | undefined;
  try {
    token = bearerToken(request);
  } catch (err) {
    if (isPublic) return;
    throw err;
  }
  if (token !== undefined) {
    if (opts.verifyToken === undefined) {
      if (isPublic) return;
      throw new UnauthorizedError('This service cannot verify tokens (no verifier configured)');
    }
    try {
      request.principal = await opts.verifyToken(token);
    } catch (err) {
      if (isPublic) return;
      if (err instanceof UnauthorizedError || err instanceof ServiceUnavailableError) throw err;
      // A verifier that throws something else must not turn into a 500 carrying token details.
      throw new UnauthorizedError('Invalid token', {
        cause: err,
        headers: { 'WWW-Authenticate': 'Bearer realm="photoncloud", error="invalid_token"' },
      });
    }
    return;
  }
  if (opts.mode === 'local' && isLoopback(request.socket.remoteAddress)) {
    request.principal = { ...LOCAL_ADMIN, roles: [...LOCAL_ADMIN.roles] };
    return;
  }
  if (isPublic) return;
  throw new UnauthorizedError(
    opts.mode === 'local'
      ? 'Authentication required for requests from non-loopback addresses'
      : 'Authentication required',
  );
}
