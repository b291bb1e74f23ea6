/** Tenancy helpers shared by PrismNET's routes (on top of http-kit's `resolveScope`). */
import { ValidationError } from '@photoncloud/errors';
import { resolveScope } from '@photoncloud/http-kit';
import type { Scope } from '@photoncloud/http-kit';
import type { FastifyRequest } from 'fastify';

/** org_id / project_id as a query or body names them. */
export interface ScopeFields {
  org_id?: string | undefined;
  project_id?: string | undefined;
}

/** The effective scope of a request naming `fields` (403 when a scoped token names another). */
export function scopeOf(request: FastifyRequest, fields: ScopeFields): Scope {
  const requested: Scope = {};
  if (fields.org_id !== undefined) requested.orgId = fields.org_id;
  if (fields.project_id !== undefined) requested.projectId = fields.project_id;
  return resolveScope(request, requested);
}

/** The org and project a new top-level resource belongs to: named in the body or taken from the token. */
export function ownerOf(
  request: FastifyRequest,
  fields: ScopeFields,
): { org_id: string; project_id: string } {
  const scope = scopeOf(request, fields);
  if (scope.orgId === undefined) {
    throw new ValidationError('org_id', 'required', 'org_id is required', {
      details: { location: 'body' },
      hint: 'Name the org (or use a token scoped to one)',
    });
  }
  if (scope.projectId === undefined) {
    throw new ValidationError('project_id', 'required', 'project_id is required', {
      details: { location: 'body' },
      hint: 'Name the project (or use a token scoped to one)',
    });
  }
  return { org_id: scope.orgId, project_id: scope.projectId };
}
