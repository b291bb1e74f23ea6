/**
 * Users and service accounts (guide §3 "User Management", orchestrator-api.md), their credentials
 * (password, TOTP), orgs, projects and project membership.
 */
import { Type } from '@sinclair/typebox';
import { ForbiddenError, NotFoundError } from '@photoncloud/errors';
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
  AddMemberBody,
  CreateOrgBody,
  CreateProjectBody,
  CreateUserBody,
  IdParams,
  Member,
  Org,
  Project,
  SetPasswordBody,
  TotpConfirmBody,
  TotpEnrollment,
  UpdateUserBody,
  User,
} from '@photoncloud/iam-api';
import type { IamContext } from '../iam-context.js';
import { bindingCovers } from '../storage/directory.js';
import type { StoredUser } from '../storage/directory.js';
import { assertCanGrantRole } from './escalation.js';
import { callerOf, requireAdmin, requireSelfOrAdmin } from './guards.js';

const SELF_SERVICE = { authz: { skip: true } } as const;
const Deleted = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });

/** Register user, org and project routes. */
export function registerDirectoryRoutes(app: ServiceApp, ctx: IamContext): void {
  const { dir, creds, tokens } = ctx;

  /** A non-admin principal scoped to a project/org sees only users with a binding (or membership) there. */
  async function visibleUsers(
    users: StoredUser[],
    scopeId: string | undefined,
    scope: { orgId?: string; projectId?: string },
  ) {
    const want: Array<(u: StoredUser, bindings: Awaited<ReturnType<typeof dir.listBindings>>) => boolean> =
      [];
    const bindings = await dir.listBindings();
    if (scopeId !== undefined) {
      want.push(
        (u, bs) =>
          u.org_ids.includes(scopeId) ||
          bs.some(
            (b) => b.principal_id === u.id && (b.scope.project_id === scopeId || b.scope.org_id === scopeId),
          ),
      );
    }
    if (scope.projectId !== undefined) {
      const pid = scope.projectId;
      want.push((u, bs) => bs.some((b) => b.principal_id === u.id && b.scope.project_id === pid));
    } else if (scope.orgId !== undefined) {
      const oid = scope.orgId;
      want.push(
        (u, bs) =>
          u.org_ids.includes(oid) || bs.some((b) => b.principal_id === u.id && b.scope.org_id === oid),
      );
    }
    return users.filter((u) => want.every((f) => f(u, bindings)));
  }

  app.post(
    '/api/v1/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Create a user or service account',
        body: CreateUserBody,
        response: responses({ 201: envelope(User) }),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const { password, ...rest } = b;
      for (const org of rest.org_ids ?? []) resolveScope(request, { orgId: org });
      const user = await dir.createUser(rest);
      setAuditResource(request, user.id);
      if (password !== undefined) await creds.setPassword(user.id, password);
      void reply.code(201);
      return ok(request, await dir.getUser(user.id));
    },
  );

  app.get(
    '/api/v1/users',
    {
      schema: {
        tags: ['users'],
        summary: 'List users and service accounts',
        description: '`scope_id` (guide): only principals that are members of that project or org.',
        querystring: Type.Object({
          scope_id: Type.Optional(Type.String({ maxLength: 128 })),
          type: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('service_account')])),
          ...pageQueryProperties(),
        }),
        response: responses({ 200: listEnvelope('users', User) }),
      },
    },
    async (request, reply) => {
      const q = request.query;
      const page = parsePage(q);
      const scope = resolveScope(request, {});
      let users = await visibleUsers(await dir.listUsers(), q.scope_id, scope);
      if (q.type !== undefined) users = users.filter((u) => u.type === q.type);
      return listResponse(request, reply, {
        key: 'users',
        items: users.slice(page.offset, page.offset + page.limit),
        total: users.length,
        page,
      });
    },
  );

  app.get(
    '/api/v1/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Get a user',
        params: IdParams,
        response: responses({ 200: envelope(User) }),
      },
    },
    async (request) => ok(request, await dir.getUser(request.params.id)),
  );

  const updateUser = async (
    request: { params: { id: string }; body: UpdateUserBody } & Parameters<typeof ok>[0],
  ) => {
    const b = request.body;
    const id = request.params.id;
    for (const org of b.org_ids ?? []) resolveScope(request, { orgId: org });
    const status = b.status ?? (b.enabled === undefined ? undefined : b.enabled ? 'active' : 'disabled');
    const before = await dir.getUser(id);
    const user = await dir.updateUser(id, (u) => ({
      ...u,
      ...(b.name === undefined ? {} : { name: b.name }),
      ...(b.email === undefined ? {} : { email: b.email }),
      ...(b.org_ids === undefined ? {} : { org_ids: [...new Set(b.org_ids)] }),
      ...(status === undefined ? {} : { status }),
    }));
    // Disabling a principal ends every token it holds, on every service.
    if (before.status === 'active' && user.status === 'disabled') await tokens.revokePrincipal(id);
    return ok(request, user);
  };
  type UpdateUserBody = typeof UpdateUserBody.static;
  const updateSchema = {
    tags: ['users'],
    summary: 'Update a user (name, email, status/enabled, org_ids)',
    params: IdParams,
    body: UpdateUserBody,
    response: responses({ 200: envelope(User) }),
  };
  app.put('/api/v1/users/:id', { schema: updateSchema }, updateUser);
  app.patch('/api/v1/users/:id', { schema: updateSchema }, updateUser);

  app.delete(
    '/api/v1/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Delete a user (its credentials and bindings go too; its tokens stop working)',
        params: IdParams,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const id = request.params.id;
      const caller = callerOf(request);
      if (caller.id === id) throw new ForbiddenError('You cannot delete yourself');
      await dir.deleteUser(id);
      await tokens.revokePrincipal(id);
      return ok(request, { id, deleted: true as const });
    },
  );

  app.post(
    '/api/v1/users/:id/password',
    {
      config: SELF_SERVICE,
      schema: {
        tags: ['users'],
        summary: 'Set or change a password (argon2id)',
        description:
          'Users change their own password with current_password; administrators set anyone’s (which also lifts a lockout).',
        params: IdParams,
        body: SetPasswordBody,
        response: responses({
          200: envelope(Type.Object({ id: Type.String(), password_set: Type.Literal(true) })),
        }),
      },
    },
    async (request) => {
      const id = request.params.id;
      const { self } = requireSelfOrAdmin(request, id);
      await creds.setPassword(
        id,
        request.body.password,
        self ? { currentPassword: request.body.current_password } : undefined,
      );
      if (!self) await creds.unlock(id);
      return ok(request, { id, password_set: true as const });
    },
  );

  app.post(
    '/api/v1/users/:id/mfa/totp',
    {
      config: SELF_SERVICE,
      schema: {
        tags: ['users'],
        summary: 'Enrol a TOTP authenticator (RFC 6238: SHA1, 6 digits, 30 s)',
        description:
          'Returns the secret and an otpauth:// URI once; confirm with a code before it is required at login.',
        params: IdParams,
        response: responses({ 200: envelope(TotpEnrollment) }),
      },
    },
    async (request) => {
      const id = request.params.id;
      requireSelfOrAdmin(request, id);
      const e = await creds.enrollTotp(id);
      return ok(request, { ...e, algorithm: 'SHA1' as const, digits: 6 as const, period: 30 as const });
    },
  );

  app.post(
    '/api/v1/users/:id/mfa/totp/confirm',
    {
      config: SELF_SERVICE,
      schema: {
        tags: ['users'],
        summary: 'Confirm TOTP enrolment with a current code',
        params: IdParams,
        body: TotpConfirmBody,
        response: responses({
          200: envelope(Type.Object({ id: Type.String(), mfa_enabled: Type.Literal(true) })),
        }),
      },
    },
    async (request) => {
      const id = request.params.id;
      requireSelfOrAdmin(request, id);
      await creds.confirmTotp(id, request.body.code);
      return ok(request, { id, mfa_enabled: true as const });
    },
  );

  app.delete(
    '/api/v1/users/:id/mfa/totp',
    {
      config: SELF_SERVICE,
      schema: {
        tags: ['users'],
        summary: 'Remove the TOTP factor',
        params: IdParams,
        response: responses({
          200: envelope(Type.Object({ id: Type.String(), mfa_enabled: Type.Literal(false) })),
        }),
      },
    },
    async (request) => {
      const id = request.params.id;
      requireSelfOrAdmin(request, id);
      await creds.disableTotp(id);
      return ok(request, { id, mfa_enabled: false as const });
    },
  );

  // ---- orgs ----

  app.post(
    '/api/v1/orgs',
    {
      schema: {
        tags: ['orgs'],
        summary: 'Create an org (administrators)',
        body: CreateOrgBody,
        response: responses({ 201: envelope(Org) }),
      },
    },
    async (request, reply) => {
      requireAdmin(request, 'Creating orgs');
      const org = await dir.createOrg(request.body);
      setAuditResource(request, org.id);
      void reply.code(201);
      return ok(request, org);
    },
  );

  app.get(
    '/api/v1/orgs',
    {
      schema: {
        tags: ['orgs'],
        summary: 'List orgs',
        querystring: Type.Object({ ...pageQueryProperties() }),
        response: responses({ 200: listEnvelope('orgs', Org) }),
      },
    },
    async (request, reply) => {
      const page = parsePage(request.query);
      const scope = resolveScope(request, {});
      const orgs = (await dir.listOrgs()).filter((o) => scope.orgId === undefined || o.id === scope.orgId);
      return listResponse(request, reply, {
        key: 'orgs',
        items: orgs.slice(page.offset, page.offset + page.limit),
        total: orgs.length,
        page,
      });
    },
  );

  app.get(
    '/api/v1/orgs/:id',
    {
      schema: {
        tags: ['orgs'],
        summary: 'Get an org',
        params: IdParams,
        response: responses({ 200: envelope(Org) }),
      },
    },
    async (request) => {
      resolveScope(request, { orgId: request.params.id });
      return ok(request, await dir.getOrg(request.params.id));
    },
  );

  app.delete(
    '/api/v1/orgs/:id',
    {
      schema: {
        tags: ['orgs'],
        summary: 'Delete an org (409 while it has projects)',
        params: IdParams,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      requireAdmin(request, 'Deleting orgs');
      await dir.deleteOrg(request.params.id);
      return ok(request, { id: request.params.id, deleted: true as const });
    },
  );

  // ---- projects ----

  app.post(
    '/api/v1/projects',
    {
      schema: {
        tags: ['projects'],
        summary: 'Create a project in an org',
        description: 'Guide §3: {"name","org_id"}. The org is created when it does not exist yet.',
        body: CreateProjectBody,
        response: responses({ 201: envelope(Project) }),
      },
    },
    async (request, reply) => {
      const scope = resolveScope(request, { orgId: request.body.org_id });
      if (scope.projectId !== undefined)
        throw new ForbiddenError('A project-scoped token cannot create projects');
      const project = await dir.createProject(request.body);
      setAuditResource(request, project.id);
      void reply.code(201);
      return ok(request, project);
    },
  );

  app.get(
    '/api/v1/projects',
    {
      schema: {
        tags: ['projects'],
        summary: 'List projects',
        querystring: Type.Object({
          org_id: Type.Optional(Type.String({ maxLength: 128 })),
          ...pageQueryProperties(),
        }),
        response: responses({ 200: listEnvelope('projects', Project) }),
      },
    },
    async (request, reply) => {
      const page = parsePage(request.query);
      const scope = resolveScope(
        request,
        request.query.org_id === undefined ? {} : { orgId: request.query.org_id },
      );
      const projects = (await dir.listProjects()).filter((p) =>
        inScope(scope, { org_id: p.org_id, project_id: p.id }),
      );
      return listResponse(request, reply, {
        key: 'projects',
        items: projects.slice(page.offset, page.offset + page.limit),
        total: projects.length,
        page,
      });
    },
  );

  async function projectInScope(request: Parameters<typeof resolveScope>[0], id: string) {
    const project = await dir.getProject(id);
    resolveScope(request, { orgId: project.org_id, projectId: project.id });
    return project;
  }

  app.get(
    '/api/v1/projects/:id',
    {
      schema: {
        tags: ['projects'],
        summary: 'Get a project',
        params: IdParams,
        response: responses({ 200: envelope(Project) }),
      },
    },
    async (request) => ok(request, await projectInScope(request, request.params.id)),
  );

  app.delete(
    '/api/v1/projects/:id',
    {
      schema: {
        tags: ['projects'],
        summary: 'Delete a project (and every binding scoped to it)',
        params: IdParams,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      await projectInScope(request, request.params.id);
      await dir.deleteProject(request.params.id);
      return ok(request, { id: request.params.id, deleted: true as const });
    },
  );

  app.post(
    '/api/v1/projects/:id/members',
    {
      schema: {
        tags: ['projects'],
        summary: 'Add a member: give a principal a role in this project (writes a binding)',
        description: 'You can only grant a role whose permissions you hold in this project (403 otherwise).',
        params: IdParams,
        body: AddMemberBody,
        response: responses({ 201: envelope(Member) }),
      },
    },
    async (request, reply) => {
      const project = await projectInScope(request, request.params.id);
      const { principal_id, role } = request.body;
      await dir.getUser(principal_id);
      const scope = { org_id: project.org_id, project_id: project.id };
      await assertCanGrantRole(request, ctx, role, scope);
      const existing = (await dir.bindingsOf(principal_id)).find(
        (b) => b.role === role && b.scope.project_id === project.id,
      );
      const binding = existing ?? (await dir.createBinding({ principal_id, role, scope }));
      setAuditResource(request, binding.id);
      void reply.code(existing === undefined ? 201 : 200);
      return ok(request, { principal_id, role, binding_id: binding.id, created_at: binding.created_at });
    },
  );

  app.get(
    '/api/v1/projects/:id/members',
    {
      schema: {
        tags: ['projects'],
        summary:
          'List the members of a project (bindings scoped to it, and org-wide and platform-wide ones that cover it are not listed)',
        params: IdParams,
        querystring: Type.Object({ ...pageQueryProperties() }),
        response: responses({ 200: listEnvelope('members', Member) }),
      },
    },
    async (request, reply) => {
      const project = await projectInScope(request, request.params.id);
      const page = parsePage(request.query);
      const members = (await dir.listBindings())
        .filter(
          (b) =>
            b.role !== undefined &&
            b.scope.project_id === project.id &&
            bindingCovers(b.scope, { org_id: project.org_id, project_id: project.id }),
        )
        .map((b) => ({
          principal_id: b.principal_id,
          role: b.role!,
          binding_id: b.id,
          created_at: b.created_at,
        }));
      return listResponse(request, reply, {
        key: 'members',
        items: members.slice(page.offset, page.offset + page.limit),
        total: members.length,
        page,
      });
    },
  );

  app.delete(
    '/api/v1/projects/:id/members/:principal_id',
    {
      schema: {
        tags: ['projects'],
        summary: 'Remove a member (every role binding of the principal in this project)',
        params: Type.Object({
          id: Type.String({ maxLength: 128 }),
          principal_id: Type.String({ maxLength: 128 }),
        }),
        response: responses({
          200: envelope(Type.Object({ principal_id: Type.String(), removed: Type.Integer() })),
        }),
      },
    },
    async (request) => {
      const project = await projectInScope(request, request.params.id);
      const pid = request.params.principal_id;
      const doomed = (await dir.bindingsOf(pid)).filter((b) => b.scope.project_id === project.id);
      if (doomed.length === 0)
        throw new NotFoundError('member', pid, { details: { project_id: project.id } });
      for (const b of doomed)
        await assertCanGrantRole(
          request,
          ctx,
          b.role ?? '',
          { org_id: project.org_id, project_id: project.id },
          b.policy_id,
        );
      for (const b of doomed) await dir.deleteBinding(b);
      setAuditResource(request, pid);
      return ok(request, { principal_id: pid, removed: doomed.length });
    },
  );
}
