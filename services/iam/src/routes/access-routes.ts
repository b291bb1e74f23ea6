/**
 * Policies, roles and bindings (orchestrator-api.md "Policy Management"; the data model of
 * @photoncloud/authz). Conditions are parsed at write time (400 on a syntax error). Writes that grant
 * permissions pass the escalation check.
 */
import { Type } from '@sinclair/typebox';
import { ForbiddenError, ValidationError } from '@photoncloud/errors';
import { validateCondition } from '@photoncloud/authz';
import type { BindingScope, Rule as AuthzRule } from '@photoncloud/authz';
import {
  envelope,
  inScope,
  listEnvelope,
  listResponse,
  ok,
  pageQueryProperties,
  parsePage,
  resolveScope,
  responses,
  setAuditResource,
} from '@photoncloud/http-kit';
import type { ServiceApp } from '@photoncloud/http-kit';
import {
  Binding,
  CreateBindingBody,
  IdParams,
  Policy,
  PolicyBody,
  Role,
  RoleBody,
  RoleUpdateBody,
} from '@photoncloud/iam-api';
import type { PolicyBody as PolicyBodyT } from '@photoncloud/iam-api';
import type { IamContext } from '../iam-context.js';
import { assertCanGrantRole, assertCanGrantRules } from './escalation.js';
import { requireAdmin } from './guards.js';

const Deleted = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });

/** Rules with valid conditions; 400 VALIDATION_ERROR naming the rule otherwise. */
function checkRules(rules: PolicyBodyT['rules']): AuthzRule[] {
  rules.forEach((r, i) => {
    if (r.condition !== undefined) {
      const err = validateCondition(r.condition);
      if (err !== null) {
        throw new ValidationError(`rules[${i}].condition`, 'syntax', err, {
          details: { rule_index: i },
        });
      }
    }
  });
  return rules.map((r) => ({ ...r }));
}

function scopeOfPolicy(b: PolicyBodyT): BindingScope {
  const s: BindingScope = {};
  if (b.org_id !== undefined) s.org_id = b.org_id;
  if (b.project_id !== undefined) s.project_id = b.project_id;
  return s;
}

/** Register policy, role and binding routes. */
export function registerAccessRoutes(app: ServiceApp, ctx: IamContext): void {
  const { access, dir } = ctx;

  /** Scopes of every binding that grants policy `id` (directly or through a role). */
  async function scopesUsingPolicy(id: string): Promise<BindingScope[]> {
    const roles = new Set(
      (await access.listRoles()).filter((r) => r.policy_ids.includes(id)).map((r) => r.name),
    );
    return (await dir.listBindings())
      .filter((b) => b.policy_id === id || (b.role !== undefined && roles.has(b.role)))
      .map((b) => b.scope);
  }

  // ---- policies ----

  app.post(
    '/api/v1/policies',
    {
      schema: {
        tags: ['policies'],
        summary: 'Create a policy',
        description:
          'Rules: {effect: Allow|Deny, action, resource (glob patterns), condition?}. A condition with a syntax error is a 400. You can only write rules you hold yourself in the policy’s scope.',
        body: PolicyBody,
        response: responses({ 201: envelope(Policy) }),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const s = resolveScope(request, {
        ...(b.org_id === undefined ? {} : { orgId: b.org_id }),
        ...(b.project_id === undefined ? {} : { projectId: b.project_id }),
      });
      const rules = checkRules(b.rules);
      const scope = scopeOfPolicy({
        ...b,
        ...(s.orgId === undefined ? {} : { org_id: s.orgId }),
        ...(s.projectId === undefined ? {} : { project_id: s.projectId }),
      });
      await assertCanGrantRules(request, ctx, rules, scope, 'this policy');
      const policy = await access.createPolicy({
        name: b.name,
        rules,
        ...(b.description === undefined ? {} : { description: b.description }),
        ...(scope.org_id === undefined ? {} : { org_id: scope.org_id }),
        ...(scope.project_id === undefined ? {} : { project_id: scope.project_id }),
      });
      setAuditResource(request, policy.id);
      void reply.code(201);
      return ok(request, policy);
    },
  );

  app.get(
    '/api/v1/policies',
    {
      schema: {
        tags: ['policies'],
        summary: 'List policies (built-in ones included)',
        querystring: Type.Object({
          org_id: Type.Optional(Type.String({ maxLength: 128 })),
          project_id: Type.Optional(Type.String({ maxLength: 128 })),
          ...pageQueryProperties(),
        }),
        response: responses({ 200: listEnvelope('policies', Policy) }),
      },
    },
    async (request, reply) => {
      const q = request.query;
      const page = parsePage(q);
      const scope = resolveScope(request, {
        ...(q.org_id === undefined ? {} : { orgId: q.org_id }),
        ...(q.project_id === undefined ? {} : { projectId: q.project_id }),
      });
      // Unscoped policies (built-ins, platform-wide ones) are visible to everyone who may list policies.
      const policies = (await access.listPolicies()).filter(
        (p) => (p.org_id === undefined && p.project_id === undefined) || inScope(scope, p),
      );
      return listResponse(request, reply, {
        key: 'policies',
        items: policies.slice(page.offset, page.offset + page.limit),
        total: policies.length,
        page,
      });
    },
  );

  app.get(
    '/api/v1/policies/:id',
    {
      schema: {
        tags: ['policies'],
        summary: 'Get a policy',
        params: IdParams,
        response: responses({ 200: envelope(Policy) }),
      },
    },
    async (request) => {
      const p = await access.getPolicy(request.params.id);
      resolveScope(request, {
        ...(p.org_id === undefined ? {} : { orgId: p.org_id }),
        ...(p.project_id === undefined ? {} : { projectId: p.project_id }),
      });
      return ok(request, p);
    },
  );

  app.put(
    '/api/v1/policies/:id',
    {
      schema: {
        tags: ['policies'],
        summary: 'Replace a policy’s rules (every principal bound to it gets the new rules)',
        params: IdParams,
        body: PolicyBody,
        response: responses({ 200: envelope(Policy) }),
      },
    },
    async (request) => {
      const b = request.body;
      const cur = await access.getPolicy(request.params.id);
      resolveScope(request, {
        ...(cur.org_id === undefined ? {} : { orgId: cur.org_id }),
        ...(cur.project_id === undefined ? {} : { projectId: cur.project_id }),
      });
      const rules = checkRules(b.rules);
      const scope = scopeOfPolicy(b);
      // The new rules reach everyone the policy is bound to: the caller must hold them in every one of
      // those scopes, not only in the policy's own.
      for (const s of [scope, ...(await scopesUsingPolicy(request.params.id))]) {
        await assertCanGrantRules(request, ctx, rules, s, 'these rules');
      }
      const policy = await access.updatePolicy(request.params.id, {
        name: b.name,
        rules,
        ...(b.description === undefined ? {} : { description: b.description }),
        ...(scope.org_id === undefined ? {} : { org_id: scope.org_id }),
        ...(scope.project_id === undefined ? {} : { project_id: scope.project_id }),
      });
      return ok(request, policy);
    },
  );

  app.delete(
    '/api/v1/policies/:id',
    {
      schema: {
        tags: ['policies'],
        summary: 'Delete a policy (409 while used)',
        params: IdParams,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const cur = await access.getPolicy(request.params.id);
      resolveScope(request, {
        ...(cur.org_id === undefined ? {} : { orgId: cur.org_id }),
        ...(cur.project_id === undefined ? {} : { projectId: cur.project_id }),
      });
      await access.deletePolicy(request.params.id);
      return ok(request, { id: request.params.id, deleted: true as const });
    },
  );

  // ---- roles ----

  app.post(
    '/api/v1/roles',
    {
      schema: {
        tags: ['roles'],
        summary: 'Create a custom role (a named set of policies)',
        body: RoleBody,
        response: responses({ 201: envelope(Role) }),
      },
    },
    async (request, reply) => {
      // Roles are platform-wide names: changing one changes every binding of it, in every scope.
      requireAdmin(request, 'Creating roles');
      const role = await access.createRole(request.body);
      setAuditResource(request, role.name);
      void reply.code(201);
      return ok(request, role);
    },
  );

  app.get(
    '/api/v1/roles',
    {
      schema: {
        tags: ['roles'],
        summary: 'List roles (admin, editor, viewer are built in)',
        querystring: Type.Object({ ...pageQueryProperties() }),
        response: responses({ 200: listEnvelope('roles', Role) }),
      },
    },
    async (request, reply) => {
      const page = parsePage(request.query);
      const roles = await access.listRoles();
      return listResponse(request, reply, {
        key: 'roles',
        items: roles.slice(page.offset, page.offset + page.limit),
        total: roles.length,
        page,
      });
    },
  );

  app.get(
    '/api/v1/roles/:name',
    {
      schema: {
        tags: ['roles'],
        summary: 'Get a role',
        params: NameParams,
        response: responses({ 200: envelope(Role) }),
      },
    },
    async (request) => ok(request, await access.getRole(request.params.name)),
  );

  app.put(
    '/api/v1/roles/:name',
    {
      schema: {
        tags: ['roles'],
        summary: 'Replace a custom role’s policies',
        params: NameParams,
        body: RoleUpdateBody,
        response: responses({ 200: envelope(Role) }),
      },
    },
    async (request) => {
      requireAdmin(request, 'Changing roles');
      return ok(request, await access.updateRole(request.params.name, request.body));
    },
  );

  app.delete(
    '/api/v1/roles/:name',
    {
      schema: {
        tags: ['roles'],
        summary: 'Delete a custom role (409 while bound)',
        params: NameParams,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      requireAdmin(request, 'Deleting roles');
      await access.deleteRole(request.params.name);
      return ok(request, { id: request.params.name, deleted: true as const });
    },
  );

  // ---- bindings ----

  app.post(
    '/api/v1/bindings',
    {
      schema: {
        tags: ['bindings'],
        summary: 'Bind a role or a policy to a principal in a scope',
        description:
          'Exactly one of role and policy_id. No scope = platform-wide. You can only grant what you hold in that scope (403 otherwise).',
        body: CreateBindingBody,
        response: responses({ 201: envelope(Binding) }),
      },
    },
    async (request, reply) => {
      const b = request.body;
      if ((b.role === undefined) === (b.policy_id === undefined)) {
        throw new ValidationError('role', 'oneOf', 'Give exactly one of role and policy_id');
      }
      const s = resolveScope(request, {
        ...(b.scope?.org_id === undefined ? {} : { orgId: b.scope.org_id }),
        ...(b.scope?.project_id === undefined ? {} : { projectId: b.scope.project_id }),
      });
      if (b.scope !== undefined && b.scope.project_id === undefined && s.projectId !== undefined) {
        // An explicit org-wide (or platform-wide) scope from a project-scoped caller is refused, not narrowed.
        throw new ForbiddenError(
          `This token is scoped to project ${s.projectId}; it cannot grant beyond it`,
          {
            details: { scope: b.scope },
          },
        );
      }
      const scope: BindingScope = {};
      if (s.orgId !== undefined) scope.org_id = s.orgId;
      if (s.projectId !== undefined) scope.project_id = s.projectId;
      if (scope.project_id !== undefined && scope.org_id === undefined) {
        const project = await dir.findProject(scope.project_id);
        if (project !== undefined) scope.org_id = project.org_id;
      }
      await dir.getUser(b.principal_id);
      await assertCanGrantRole(request, ctx, b.role ?? '', scope, b.policy_id);
      const binding = await dir.createBinding({
        principal_id: b.principal_id,
        scope,
        ...(b.role === undefined ? {} : { role: b.role }),
        ...(b.policy_id === undefined ? {} : { policy_id: b.policy_id }),
      });
      setAuditResource(request, binding.id);
      void reply.code(201);
      return ok(request, binding);
    },
  );

  app.get(
    '/api/v1/bindings',
    {
      schema: {
        tags: ['bindings'],
        summary: 'List bindings',
        querystring: Type.Object({
          principal_id: Type.Optional(Type.String({ maxLength: 128 })),
          org_id: Type.Optional(Type.String({ maxLength: 128 })),
          project_id: Type.Optional(Type.String({ maxLength: 128 })),
          ...pageQueryProperties(),
        }),
        response: responses({ 200: listEnvelope('bindings', Binding) }),
      },
    },
    async (request, reply) => {
      const q = request.query;
      const page = parsePage(q);
      const scope = resolveScope(request, {
        ...(q.org_id === undefined ? {} : { orgId: q.org_id }),
        ...(q.project_id === undefined ? {} : { projectId: q.project_id }),
      });
      const all =
        q.principal_id === undefined ? await dir.listBindings() : await dir.bindingsOf(q.principal_id);
      const bindings = all.filter((b) => inScope(scope, b.scope));
      return listResponse(request, reply, {
        key: 'bindings',
        items: bindings.slice(page.offset, page.offset + page.limit),
        total: bindings.length,
        page,
      });
    },
  );

  app.get(
    '/api/v1/bindings/:id',
    {
      schema: {
        tags: ['bindings'],
        summary: 'Get a binding',
        params: IdParams,
        response: responses({ 200: envelope(Binding) }),
      },
    },
    async (request) => {
      const b = await dir.getBinding(request.params.id);
      resolveScope(request, {
        ...(b.scope.org_id === undefined ? {} : { orgId: b.scope.org_id }),
        ...(b.scope.project_id === undefined ? {} : { projectId: b.scope.project_id }),
      });
      return ok(request, b);
    },
  );

  app.delete(
    '/api/v1/bindings/:id',
    {
      schema: {
        tags: ['bindings'],
        summary: 'Delete a binding (you must be able to grant it to remove it)',
        params: IdParams,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const b = await dir.getBinding(request.params.id);
      resolveScope(request, {
        ...(b.scope.org_id === undefined ? {} : { orgId: b.scope.org_id }),
        ...(b.scope.project_id === undefined ? {} : { projectId: b.scope.project_id }),
      });
      await assertCanGrantRole(request, ctx, b.role ?? '', b.scope, b.policy_id);
      await dir.deleteBinding(b);
      return ok(request, { id: b.id, deleted: true as const });
    },
  );
}
