/**
 * Tenancy (ARCHITECTURE.md §3): a resource belongs to an org and a project, and a token scoped to one project
 * never sees another's. `resolveScope` is the one place a route turns the org/project a request names into the
 * scope it may act in.
 */
import { ForbiddenError } from '@photoncloud/errors';
import type { FastifyRequest } from 'fastify';

/** The org/project a request acts in; an absent field means "any" (only for principals not bound to one). */
export interface Scope {
  orgId?: string;
  projectId?: string;
}

/**
 * The effective scope of `request` given the org/project it names (`requested`, from its query or body).
 * - Admins and the local admin may name any scope; what they name is returned as is.
 * - A principal bound to a project (or org) gets its own project/org filled in when the request names none,
 *   and a 403 when the request names a different one.
 * - Anonymous requests (public routes) get what they named.
 */
export function resolveScope(request: FastifyRequest, requested: Scope = {}): Scope {
  const p = request.principal;
  const out: Scope = {};
  if (requested.orgId !== undefined) out.orgId = requested.orgId;
  if (requested.projectId !== undefined) out.projectId = requested.projectId;
  if (p === null || p.isAdmin) return out;
  if (p.projectId !== undefined) {
    if (requested.projectId !== undefined && requested.projectId !== p.projectId) {
      throw new ForbiddenError(`This token is scoped to project ${p.projectId}`, {
        details: { project_id: requested.projectId },
        hint: 'Use a token issued for that project',
      });
    }
    out.projectId = p.projectId;
  }
  if (p.orgId !== undefined) {
    if (requested.orgId !== undefined && requested.orgId !== p.orgId) {
      throw new ForbiddenError(`This token is scoped to org ${p.orgId}`, {
        details: { org_id: requested.orgId },
        hint: 'Use a token issued for that org',
      });
    }
    out.orgId = p.orgId;
  }
  return out;
}

/** True when a stored resource with `org_id`/`project_id` is visible in `scope`. */
export function inScope(
  scope: Scope,
  resource: { org_id?: string | null; project_id?: string | null },
): boolean {
  if (scope.orgId !== undefined && resource.org_id !== scope.orgId) return false;
  if (scope.projectId !== undefined && resource.project_id !== scope.projectId) return false;
  return true;
}
