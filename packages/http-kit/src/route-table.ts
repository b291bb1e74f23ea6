/**
 * Which methods a path is served for, so that a request with the wrong method answers
 * 405 METHOD_NOT_ALLOWED with an `Allow` header instead of 404. Fastify's router only says "no
 * match"; this table mirrors every registered route (fed from the `onRoute` hook) as a pattern.
 */

interface Entry {
  pattern: RegExp;
  methods: Set<string>;
}

/** Turn a fastify route URL (`/a/:id`, `/kv/*`) into an anchored regular expression. */
export function routePattern(url: string): RegExp {
  const parts = url.split('/').map((seg) => {
    if (seg === '*') return '.*';
    if (seg.startsWith('::')) return escape(seg.slice(1));
    // `:id`, `:id(^\\d+)` and `:a-:b` all match one non-empty segment here; being more lenient than
    // the router only risks answering 405 where 404 would be exact, never the reverse.
    if (seg.includes(':')) return '[^/]+';
    return escape(seg).replace(/\\\*$/, '.*');
  });
  return new RegExp(`^${parts.join('/')}$`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** All routes, by URL pattern. */
export class RouteTable {
  private readonly entries = new Map<string, Entry>();

  /** Record a route (called for every `onRoute`). GET implies HEAD, as fastify serves both. */
  add(method: string | string[], url: string): void {
    let entry = this.entries.get(url);
    if (entry === undefined) {
      entry = { pattern: routePattern(url), methods: new Set() };
      this.entries.set(url, entry);
    }
    for (const m of Array.isArray(method) ? method : [method]) {
      const upper = m.toUpperCase();
      entry.methods.add(upper);
      if (upper === 'GET') entry.methods.add('HEAD');
    }
  }

  /** Methods served for `path` (no query string), sorted; empty when no route matches the path. */
  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const e of this.entries.values()) {
      if (e.pattern.test(path)) for (const m of e.methods) out.add(m);
    }
    return [...out].sort();
  }
}
