/**
 * Audit query helpers (pure): the action name of an audit event, filters, and the key range for a
 * time window. Audit keys are `/photoncloud/audit/<sortable id>` whose first 12 hex digits are the
 * event's epoch milliseconds, so a time window is a key range.
 */

/** The fields of an audit event the filters read. */
export interface AuditEventLike {
  service: string;
  method: string;
  route: string | null;
  path: string;
  resource_id?: string;
  principal: { id: string } | null;
}

const VERBS: Record<string, string> = {
  GET: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'update',
  DELETE: 'delete',
};

/**
 * `<service>:<type>:<verb>` as authorization names actions: type = first segment after `/api/v1/`;
 * verb = create/update/delete by method, or the trailing action of `POST /{type}/{id}/{action}`.
 */
export function auditAction(e: AuditEventLike): string {
  const route = e.route ?? e.path;
  const segs = route
    .replace(/^\/api\/v1\//, '')
    .split('/')
    .filter((s) => s.length > 0);
  const type = segs[0] ?? '';
  let verb = VERBS[e.method] ?? e.method.toLowerCase();
  if (e.method === 'POST' && segs.length >= 3) {
    const last = segs[segs.length - 1]!;
    if (!last.startsWith(':') && last !== '*') verb = last;
  }
  return `${e.service}:${type}:${verb}`;
}

/** Glob match (`*` any run, `?` one character), whole string. */
export function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(s);
}

/** Audit query filters. */
export interface AuditFilter {
  user?: string;
  /** Glob over `auditAction` (a plain word matches as a substring). */
  action?: string;
  /** Matches the resource ID exactly or the path as a substring. */
  resource?: string;
}

/** True when the event passes every given filter. */
export function auditMatches(e: AuditEventLike, f: AuditFilter): boolean {
  if (f.user !== undefined && e.principal?.id !== f.user) return false;
  if (f.action !== undefined) {
    const a = auditAction(e);
    const ok = /[*?]/.test(f.action) ? globMatch(f.action, a) : a.includes(f.action);
    if (!ok) return false;
  }
  if (f.resource !== undefined && e.resource_id !== f.resource && !e.path.includes(f.resource)) return false;
  return true;
}

/** The 12-hex-digit key prefix for an epoch millisecond time. */
export function auditKeyTime(ms: number): string {
  return Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
}
