/** Admin JSON API for S3 access keys: `/api/v1/access-keys` (envelope, like every service). */
import { Type } from '@sinclair/typebox';
import { ForbiddenError, NotFoundError } from '@photoncloud/errors';
import { ok, resolveScope, responses, envelope, setAuditResource } from '@photoncloud/http-kit';
import type { ServiceApp } from '@photoncloud/http-kit';
import type { AccessKey, KeyStore } from '../storage/key-store.js';

const KeyView = Type.Object({
  access_key_id: Type.String(),
  owner: Type.String(),
  org_id: Type.Optional(Type.String()),
  project_id: Type.Optional(Type.String()),
  is_admin: Type.Boolean(),
  description: Type.Optional(Type.String()),
  created_at: Type.String(),
});

const CreatedKey = Type.Composite([KeyView, Type.Object({ secret_access_key: Type.String() })]);

function view(k: AccessKey): Omit<AccessKey, 'secret_access_key'> {
  const { secret_access_key: _s, ...rest } = k;
  return rest;
}

/** Register the access-key routes. */
export function registerAccessKeyRoutes(app: ServiceApp, keys: KeyStore): void {
  app.post(
    '/api/v1/access-keys',
    {
      schema: {
        tags: ['access-keys'],
        summary: 'Create an S3 access key (the secret is returned only here)',
        body: Type.Optional(
          Type.Object(
            {
              owner: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              org_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              project_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              is_admin: Type.Optional(Type.Boolean()),
              description: Type.Optional(Type.String({ maxLength: 256 })),
            },
            { additionalProperties: false },
          ),
        ),
        response: responses({ 201: envelope(Type.Object({ access_key: CreatedKey })) }),
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const principal = request.principal;
      const scope = resolveScope(request, {
        ...(body.org_id === undefined ? {} : { orgId: body.org_id }),
        ...(body.project_id === undefined ? {} : { projectId: body.project_id }),
      });
      const isAdmin = principal?.isAdmin === true;
      if (body.is_admin === true && !isAdmin)
        throw new ForbiddenError('Only administrators can create admin keys');
      if (body.owner !== undefined && !isAdmin && body.owner !== principal?.id) {
        throw new ForbiddenError('Keys for other principals need an administrator');
      }
      const key = await keys.create(
        {
          owner: body.owner ?? principal?.id ?? 'anonymous',
          is_admin: body.is_admin ?? false,
          ...(scope.orgId === undefined ? {} : { org_id: scope.orgId }),
          ...(scope.projectId === undefined ? {} : { project_id: scope.projectId }),
          ...(body.description === undefined ? {} : { description: body.description }),
        },
        new Date(),
      );
      setAuditResource(request, key.access_key_id);
      return reply.code(201).send(ok(request, { access_key: key }));
    },
  );

  app.get(
    '/api/v1/access-keys',
    {
      schema: {
        tags: ['access-keys'],
        summary: 'List access keys (without secrets)',
        response: responses({ 200: envelope(Type.Object({ access_keys: Type.Array(KeyView) })) }),
      },
    },
    async (request) => {
      const p = request.principal;
      const all = await keys.list();
      const visible = p?.isAdmin === true ? all : all.filter((k) => k.owner === p?.id);
      return ok(request, { access_keys: visible.map(view) });
    },
  );

  app.delete(
    '/api/v1/access-keys/:id',
    {
      schema: {
        tags: ['access-keys'],
        summary: 'Delete an access key',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: responses({ 200: envelope(Type.Object({ deleted: Type.Boolean() })) }),
      },
    },
    async (request) => {
      const k = await keys.get(request.params.id);
      const p = request.principal;
      if (k === undefined || (p?.isAdmin !== true && k.owner !== p?.id)) {
        throw new NotFoundError('access_key', request.params.id);
      }
      await keys.delete(k.access_key_id);
      return ok(request, { deleted: true });
    },
  );
}
