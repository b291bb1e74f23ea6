/** Tenancy helpers shared by PlasmaVMC's routes (on top of http-kit's `resolveScope`). */
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
export function scopeOf(request: FastifyRequest, fields: ScopeFields | undefined): Scope {
  const requested: Scope = {};
  if (fields?.org_id !== undefined) requested.orgId = fields.org_id;
  if (fields?.project_id !== undefined) requested.projectId = fields.project_id;
  return resolveScope(request, requested);
}

/** The org and project a new resource belongs to: named in the body or taken from the token. */
export function ownerOf(
  request: FastifyRequest,
  fields: ScopeFields,
): { org_id: string; project_id: string } {
  const scope = scopeOf(request, fields);
  for (const [field, value] of [
    ['org_id', scope.orgId],
    ['project_id', scope.projectId],
  ] as const) {
    if (value === undefined) {
      throw new ValidationError(field, 'required', `${field} is required`, {
        details: { location: 'body' },
        hint: 'Name it in the body (or use a token scoped to one)',
      });
    }
  }
  return { org_id: scope.orgId as string, project_id: scope.projectId as string };
}
