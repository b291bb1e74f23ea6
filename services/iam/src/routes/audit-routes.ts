/**
 * `GET /api/v1/audit` (orchestrator-api.md "Audit Logging", also at `/api/v1/audit/logs`): the audit
 * events every service writes under `/photoncloud/audit/<sortable id>`, newest first. `from`/`to` are a
 * key range (the IDs start with the event's epoch milliseconds); the other filters are applied while
 * scanning, which is bounded (`MAX_SCAN` events per query; `meta.truncated`-style hint in the log).
 */
import { Type } from '@sinclair/typebox';
import { ValidationError } from '@photoncloud/errors';
import {
  AUDIT_PREFIX,
  listEnvelope,
  listResponse,
  pageQueryProperties,
  parsePage,
  resolveScope,
} from '@photoncloud/http-kit';
import type { AuditEvent, ServiceApp } from '@photoncloud/http-kit';
import { AuditEventItem } from '@photoncloud/iam-api';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IamContext } from '../iam-context.js';
import { auditAction, auditKeyTime, auditMatches } from '../core/audit-filter.js';

/** Most events examined by one query (a bound on its cost; narrow with from/to to reach older ones). */
export const MAX_SCAN = 100_000;
const CHUNK = 1000;

function parseTime(field: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms))
    throw new ValidationError(field, 'format', `${field} must be an RFC 3339 time`, {
      details: { location: 'query' },
    });
  return ms;
}

/** Register the audit query route. */
export function registerAuditRoutes(app: ServiceApp, ctx: IamContext): void {
  const schema = {
    tags: ['audit'],
    summary: 'Query audit events (newest first)',
    description:
      'Filters: user (principal ID), action (`<service>:<type>:<verb>`, glob with * or a substring), resource (resource ID or a path substring), from/to (RFC 3339, to exclusive).',
    querystring: Type.Object({
      user: Type.Optional(Type.String({ maxLength: 128 })),
      user_id: Type.Optional(Type.String({ maxLength: 128, description: 'Alias of user' })),
      action: Type.Optional(Type.String({ maxLength: 256 })),
      resource: Type.Optional(Type.String({ maxLength: 1024 })),
      from: Type.Optional(Type.String({ maxLength: 64 })),
      to: Type.Optional(Type.String({ maxLength: 64 })),
      ...pageQueryProperties({ maxLimit: 1000 }),
    }),
    response: { 200: listEnvelope('events', AuditEventItem) },
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const q = request.query as Record<string, string | undefined>;
    const page = parsePage(q, { maxLimit: 1000 });
    const from = parseTime('from', q['from']);
    const to = parseTime('to', q['to']);
    if (from !== undefined && to !== undefined && from >= to) {
      throw new ValidationError('to', 'minimum', 'to must be after from', { details: { location: 'query' } });
    }
    const scope = resolveScope(request, {});
    const filter = {
      ...((q['user'] ?? q['user_id']) ? { user: (q['user'] ?? q['user_id'])! } : {}),
      ...(q['action'] === undefined ? {} : { action: q['action'] }),
      ...(q['resource'] === undefined ? {} : { resource: q['resource'] }),
    };
    const start = bytes(AUDIT_PREFIX + (from === undefined ? '' : auditKeyTime(from)));
    let end = to === undefined ? prefixEnd(bytes(AUDIT_PREFIX)) : bytes(AUDIT_PREFIX + auditKeyTime(to));
    const items: Array<AuditEvent & { action: string }> = [];
    let total = 0;
    let scanned = 0;
    while (scanned < MAX_SCAN) {
      const res = await ctx.store.range({
        key: start,
        rangeEnd: end,
        sortOrder: 'descend',
        sortTarget: 'key',
        limit: CHUNK,
      });
      for (const kv of res.kvs) {
        scanned += 1;
        let e: AuditEvent;
        try {
          e = JSON.parse(text(kv.value)) as AuditEvent;
        } catch {
          continue;
        }
        if (!auditMatches(e, filter)) continue;
        // A scoped (non-admin) caller sees only events of principals acting in its own scope.
        if (scope.projectId !== undefined && e.principal?.project_id !== scope.projectId) continue;
        if (scope.orgId !== undefined && e.principal?.org_id !== scope.orgId) continue;
        if (total >= page.offset && items.length < page.limit) items.push({ ...e, action: auditAction(e) });
        total += 1;
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || last === undefined) break;
      end = last.key;
    }
    if (scanned >= MAX_SCAN)
      ctx.logger.warn({ scanned }, 'audit query hit its scan bound; narrow it with from/to');
    return listResponse(request, reply, { key: 'events', items, total, page });
  };

  app.get('/api/v1/audit', { schema }, handler);
  app.get('/api/v1/audit/logs', { schema: { ...schema, summary: 'Alias of GET /api/v1/audit' } }, handler);
}
