/**
 * The generic request → (action, resource) derivation, the same for every service route (pure):
 * - action = `<service>:<type>:<verb>`; type = the first path segment after `/api/v1/` (or the first
 *   segment for paths outside `/api/v1/`, e.g. `metrics`);
 * - verb: `list` (GET collection), `get` (GET item or below), `create` (POST collection or item),
 *   `update` (PUT/PATCH), `delete` (DELETE), or the trailing literal sub-action of POST
 *   `/{type}/{id}/{action}` (`start`, `commit`, …);
 * - resource = `prn:<service>:<org_id|*>:<project_id|*>:<type>/<id|*>`, with org/project from the request
 *   (params, then query, then body `org_id`/`project_id`) or else the principal's own scope.
 */
import { formatResource } from './resource.js';

/** What the derivation needs to know about a request. */
export interface RouteRequest {
  service: string;
  method: string;
  /** The route's URL pattern as registered (`/api/v1/vms/:id/start`, `/api/v1/kv/*`). */
  routeUrl: string;
  params?: unknown;
  query?: unknown;
  body?: unknown;
  principal?: { orgId?: string | undefined; projectId?: string | undefined } | null;
}

/** The derived authorization question. */
export interface DerivedRequest {
  action: string;
  resource: string;
  org_id?: string;
  project_id?: string;
  type: string;
  id?: string;
}

const API = '/api/v1/';

function field(o: unknown, name: string): string | undefined {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const v = (o as Record<string, unknown>)[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The value of one route-pattern segment: a param's value, the wildcard's value, or the literal. */
function segmentValue(seg: string, params: unknown): { value: string | undefined; literal: boolean } {
  if (seg === '*') return { value: field(params, '*'), literal: false };
  if (seg.startsWith(':')) {
    const m = /^:([A-Za-z0-9_]+)/.exec(seg);
    return { value: m?.[1] === undefined ? undefined : field(params, m[1]), literal: false };
  }
  return { value: seg, literal: true };
}

/** Derive (action, resource) for one request to a matched route. */
export function deriveRequest(r: RouteRequest): DerivedRequest {
  const q = r.routeUrl.indexOf('?');
  const url = q < 0 ? r.routeUrl : r.routeUrl.slice(0, q);
  const rest = url.startsWith(API) ? url.slice(API.length) : url.replace(/^\/+/, '');
  const segs = rest.split('/').filter((s) => s !== '');
  const type = segs[0] ?? 'root';
  const method = r.method.toUpperCase();
  let id: string | undefined;
  if (segs.length >= 2) id = segmentValue(segs[1] as string, r.params).value ?? '*';
  let verb: string;
  if (segs.length <= 1) {
    verb =
      method === 'GET' || method === 'HEAD'
        ? 'list'
        : method === 'POST'
          ? 'create'
          : method === 'DELETE'
            ? 'delete'
            : 'update';
  } else if (method === 'GET' || method === 'HEAD') verb = 'get';
  else if (method === 'PUT' || method === 'PATCH') verb = 'update';
  else if (method === 'DELETE') verb = 'delete';
  else if (method === 'POST' && segs.length >= 3) {
    const last = segmentValue(segs[segs.length - 1] as string, r.params);
    verb = last.literal && last.value !== undefined ? last.value : 'create';
  } else verb = method === 'POST' ? 'create' : method.toLowerCase();
  const org =
    field(r.params, 'org_id') ??
    field(r.query, 'org_id') ??
    field(r.body, 'org_id') ??
    r.principal?.orgId ??
    undefined;
  const project =
    field(r.params, 'project_id') ??
    field(r.query, 'project_id') ??
    field(r.body, 'project_id') ??
    r.principal?.projectId ??
    undefined;
  const out: DerivedRequest = {
    action: `${r.service}:${type}:${verb}`,
    resource: formatResource({ service: r.service, org_id: org, project_id: project, type, id }),
    type,
  };
  if (org !== undefined) out.org_id = org;
  if (project !== undefined) out.project_id = project;
  if (id !== undefined) out.id = id;
  return out;
}
