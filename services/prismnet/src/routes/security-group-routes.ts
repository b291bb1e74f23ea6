/**
 * Security group routes: groups (create, list, get, rename, delete) and their rules (add, list, get,
 * delete). A new group denies all ingress and allows all egress. Rules are stored inside their group
 * and changed with compare-and-swap on the group's revision, which is also its ETag (If-Match on PATCH
 * and DELETE). PrismNET records the rules; enforcing them in a dataplane is not part of this service.
 */
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError, ValidationError } from '@photoncloud/errors';
import {
  checkPreconditions,
  envelope,
  inScope,
  listEnvelope,
  listResponse,
  ok,
  pageQueryProperties,
  parsePage,
  responses,
  setAuditResource,
  setETag,
} from '@photoncloud/http-kit';
import type { Scope, ServiceApp } from '@photoncloud/http-kit';
import {
  CreateSecurityGroup,
  CreateSecurityGroupRule,
  Deleted,
  ID_PATTERN,
  IdParams,
  SecurityGroup,
  SecurityGroupRule,
  UpdateSecurityGroup,
  scopeQueryProperties,
} from '@photoncloud/prismnet-api';
import { defaultRules, normaliseRule, sameRule } from '../core/sg-rules.js';
import type { PrismNetRepo } from '../storage/prismnet-repo.js';
import type { RouteDeps } from './network-routes.js';
import { ownerOf, scopeOf } from './scope.js';

/** Most rules in one group. */
export const MAX_RULES_PER_GROUP = 200;

const ScopeQuery = Type.Object(scopeQueryProperties);
const RuleParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, pattern: ID_PATTERN }),
  rule_id: Type.String({ minLength: 1, maxLength: 128, pattern: ID_PATTERN }),
});

async function visibleGroup(repo: PrismNetRepo, id: string, scope: Scope) {
  const sg = await repo.getSecurityGroup(id);
  if (sg === undefined || !inScope(scope, sg.value)) throw new NotFoundError('security group', id);
  return sg;
}

/** Register the security group routes. */
export function registerSecurityGroupRoutes(app: ServiceApp, deps: RouteDeps): void {
  const { repo } = deps;

  app.post(
    '/api/v1/security-groups',
    {
      schema: {
        tags: ['security-groups'],
        summary: 'Create a security group',
        description:
          'Starts with no ingress rule (all inbound denied) and allow-all egress rules for IPv4 and IPv6.',
        body: CreateSecurityGroup,
        response: responses({ 201: envelope(SecurityGroup) }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const now = deps.now();
      const sg: SecurityGroup = {
        id: deps.newId('sg'),
        name: body.name,
        ...ownerOf(request, body),
        description: body.description ?? '',
        rules: defaultRules(() => deps.newId('sgr')),
        created_at: now,
        updated_at: now,
      };
      await repo.createSecurityGroup(sg);
      setAuditResource(request, sg.id);
      reply.code(201);
      return ok(request, sg);
    },
  );

  app.get(
    '/api/v1/security-groups',
    {
      schema: {
        tags: ['security-groups'],
        summary: 'List security groups',
        querystring: Type.Object({ ...scopeQueryProperties, ...pageQueryProperties() }),
        response: responses({ 200: listEnvelope('security_groups', SecurityGroup) }),
      },
    },
    async (request, reply) => {
      const p = parsePage(request.query);
      const scope = scopeOf(request, request.query);
      const items = (await repo.listSecurityGroups()).filter((g) => inScope(scope, g));
      return listResponse(request, reply, {
        key: 'security_groups',
        items: items.slice(p.offset, p.offset + p.limit),
        total: items.length,
        page: p,
      });
    },
  );

  app.get(
    '/api/v1/security-groups/:id',
    {
      schema: {
        tags: ['security-groups'],
        summary: 'Get a security group with its rules',
        description: 'The ETag header is the group’s revision (use it with If-Match).',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(SecurityGroup) }),
      },
    },
    async (request, reply) => {
      const sg = await visibleGroup(repo, request.params.id, scopeOf(request, request.query));
      setETag(reply, sg.modRevision);
      return ok(request, sg.value);
    },
  );

  app.patch(
    '/api/v1/security-groups/:id',
    {
      schema: {
        tags: ['security-groups'],
        summary: 'Rename or re-describe a security group',
        description: 'If-Match: "<etag>" makes it conditional (412 when the group changed).',
        params: IdParams,
        querystring: ScopeQuery,
        body: UpdateSecurityGroup,
        response: responses({ 200: envelope(SecurityGroup) }),
      },
    },
    async (request, reply) => {
      const scope = scopeOf(request, request.query);
      const updated = await repo.updateSecurityGroup(request.params.id, (sg, rev) => {
        if (!inScope(scope, sg)) throw new NotFoundError('security group', request.params.id);
        checkPreconditions(request, rev);
        return {
          ...sg,
          name: request.body.name ?? sg.name,
          description: request.body.description ?? sg.description,
          updated_at: deps.now(),
        };
      });
      setETag(reply, updated.modRevision);
      return ok(request, updated.value);
    },
  );

  app.delete(
    '/api/v1/security-groups/:id',
    {
      schema: {
        tags: ['security-groups'],
        summary: 'Delete a security group',
        description: '409 CONFLICT while a port uses it or a rule of another group names it as remote group.',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const scope = scopeOf(request, request.query);
      // Tenancy and If-Match are checked on the revision the delete transaction compares against.
      await repo.deleteSecurityGroup(request.params.id, (sg, rev) => {
        if (!inScope(scope, sg)) throw new NotFoundError('security group', request.params.id);
        checkPreconditions(request, rev);
      });
      return ok(request, { id: request.params.id, deleted: true as const });
    },
  );

  // Rules

  app.post(
    '/api/v1/security-groups/:id/rules',
    {
      schema: {
        tags: ['security-groups'],
        summary: 'Add a rule',
        description:
          'protocol tcp/udp take a port range (1–65535, min <= max; one bound = one port); icmp/any take none. remote_cidr (normalised) or remote_group_id (a group of the same project), not both; neither = from/to anywhere. 409 when an identical rule exists.',
        params: IdParams,
        querystring: ScopeQuery,
        body: CreateSecurityGroupRule,
        response: responses({ 201: envelope(SecurityGroupRule) }),
      },
    },
    async (request, reply) => {
      const scope = scopeOf(request, request.query);
      const rule = normaliseRule(request.body, deps.newId('sgr'));
      await repo.updateSecurityGroup(request.params.id, async (sg) => {
        if (!inScope(scope, sg)) throw new NotFoundError('security group', request.params.id);
        if (rule.remote_group_id !== null) {
          const remote = await repo.getSecurityGroup(rule.remote_group_id);
          if (
            remote === undefined ||
            remote.value.project_id !== sg.project_id ||
            remote.value.org_id !== sg.org_id
          ) {
            throw new ValidationError(
              'remote_group_id',
              'exists',
              `Security group ${rule.remote_group_id} does not exist in this project`,
              {
                details: { location: 'body', value: rule.remote_group_id },
              },
            );
          }
        }
        const dup = sg.rules.find((r) => sameRule(r, rule));
        if (dup !== undefined) {
          throw new ConflictError(`An identical rule already exists (${dup.id})`, {
            details: { rule_id: dup.id },
          });
        }
        if (sg.rules.length >= MAX_RULES_PER_GROUP) {
          throw new ConflictError(`Security group ${sg.id} already has ${MAX_RULES_PER_GROUP} rules`, {
            details: { limit: MAX_RULES_PER_GROUP },
          });
        }
        return { ...sg, rules: [...sg.rules, rule], updated_at: deps.now() };
      });
      setAuditResource(request, rule.id);
      reply.code(201);
      return ok(request, rule);
    },
  );

  app.get(
    '/api/v1/security-groups/:id/rules',
    {
      schema: {
        tags: ['security-groups'],
        summary: 'List the rules of a group',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Type.Object({ rules: Type.Array(SecurityGroupRule) })) }),
      },
    },
    async (request) => {
      const sg = await visibleGroup(repo, request.params.id, scopeOf(request, request.query));
      return ok(request, { rules: sg.value.rules });
    },
  );

  app.get(
    '/api/v1/security-groups/:id/rules/:rule_id',
    {
      schema: {
        tags: ['security-groups'],
        summary: 'Get a rule',
        params: RuleParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(SecurityGroupRule) }),
      },
    },
    async (request) => {
      const sg = await visibleGroup(repo, request.params.id, scopeOf(request, request.query));
      const rule = sg.value.rules.find((r) => r.id === request.params.rule_id);
      if (rule === undefined) throw new NotFoundError('security group rule', request.params.rule_id);
      return ok(request, rule);
    },
  );

  app.delete(
    '/api/v1/security-groups/:id/rules/:rule_id',
    {
      schema: {
        tags: ['security-groups'],
        summary: 'Delete a rule',
        params: RuleParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const scope = scopeOf(request, request.query);
      const { id, rule_id } = request.params;
      await repo.updateSecurityGroup(id, (sg) => {
        if (!inScope(scope, sg)) throw new NotFoundError('security group', id);
        if (!sg.rules.some((r) => r.id === rule_id)) throw new NotFoundError('security group rule', rule_id);
        return { ...sg, rules: sg.rules.filter((r) => r.id !== rule_id), updated_at: deps.now() };
      });
      setAuditResource(request, rule_id);
      return ok(request, { id: rule_id, deleted: true as const });
    },
  );
}
