/**
 * The http-kit side: `httpAuthorizer` turns an `Authorizer` into the `authorize` hook of `AuthOptions`,
 * deriving (action, resource) generically from the matched route (see `core/derive.ts`). Routes may
 * override with `config: { authz: { action?, resource?, skip? } }`.
 */
import type { FastifyRequest } from 'fastify';
import type { AuthOptions, Principal } from '@photoncloud/http-kit';
import type { Authorizer } from './authorizer.js';
import { deriveRequest } from './core/derive.js';

/** Per-route authorization settings (fastify route `config.authz`). */
export interface RouteAuthzConfig {
  /** Fixed action instead of the derived one. */
  action?: string;
  /** Fixed resource instead of the derived one. */
  resource?: string;
  /** Authenticated callers need no permission (e.g. IAM's own token/jwks routes). */
  skip?: true;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Authorization overrides for this route (`@photoncloud/authz`). */
    authz?: RouteAuthzConfig;
  }
}

/** (action, resource) of one request as `httpAuthorizer` sees it — for logs, tests and IAM's own checks. */
export function requestAuthz(
  request: FastifyRequest,
  serviceName: string,
  principal: Principal | null = request.principal,
): { action: string; resource: string } {
  const cfg = request.routeOptions.config?.authz;
  const d = deriveRequest({
    service: serviceName,
    method: request.method,
    routeUrl: request.routeOptions.url ?? request.url,
    params: request.params,
    query: request.query,
    body: request.body,
    principal,
  });
  return { action: cfg?.action ?? d.action, resource: cfg?.resource ?? d.resource };
}

/** The `authorize` hook for `createService({ auth: { …, authorize } })`. */
export function httpAuthorizer(
  authorizer: Authorizer,
  serviceName: string,
): NonNullable<AuthOptions['authorize']> {
  return async (request, principal) => {
    if (request.routeOptions.config?.authz?.skip === true) return;
    const { action, resource } = requestAuthz(request, serviceName, principal);
    authorizer.authorize(principal, action, resource, {
      request: { method: request.method, ip: request.ip },
    });
  };
}

/** The `isRevoked` hook for `createService({ auth: { …, isRevoked } })`. */
export function httpRevocationCheck(authorizer: Authorizer): NonNullable<AuthOptions['isRevoked']> {
  return (principal) => authorizer.isPrincipalRevoked(principal);
}
