/**
 * Resource names: `prn:<service>:<org_id|*>:<project_id|*>:<type>/<id|*>`.
 */
import type { ResourceName } from '../types.js';

/** Split a resource name; `undefined` when it is not a well-formed `prn:`. The id may contain `:` and `/`. */
export function parseResource(name: string): ResourceName | undefined {
  if (!name.startsWith('prn:')) return undefined;
  const parts: string[] = [];
  let start = 4;
  for (let i = 0; i < 3; i++) {
    const c = name.indexOf(':', start);
    if (c < 0) return undefined;
    parts.push(name.slice(start, c));
    start = c + 1;
  }
  const rest = name.slice(start);
  const slash = rest.indexOf('/');
  const type = slash < 0 ? rest : rest.slice(0, slash);
  const id = slash < 0 ? '*' : rest.slice(slash + 1);
  const [service, org, project] = parts as [string, string, string];
  if (service === '' || type === '') return undefined;
  return { service, org_id: org, project_id: project, type, id };
}

/** Build a resource name; missing org/project/id become `*`. */
export function formatResource(r: {
  service: string;
  type: string;
  org_id?: string | undefined;
  project_id?: string | undefined;
  id?: string | undefined;
}): string {
  return `prn:${r.service}:${r.org_id ?? '*'}:${r.project_id ?? '*'}:${r.type}/${r.id ?? '*'}`;
}
