/** Conditional requests (RFC 9110 §13) as S3 evaluates them for GET/HEAD, PUT and CopyObject. */

/** True when an `If-Match`/`If-None-Match` list matches `etag` (quoted or not; `*` matches anything). */
export function etagMatches(header: string, etag: string): boolean {
  const bare = etag.replace(/^"|"$/g, '');
  return header.split(',').some((part) => {
    const t = part.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    return t === '*' || t === bare;
  });
}

function parseDate(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** The conditional headers of a request. */
export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/**
 * Evaluate preconditions against an existing object (ETag, last-modified in ms). `ok` to proceed,
 * `failed` → 412 PreconditionFailed, `not-modified` → 304 (only for GET/HEAD; others turn it into 412).
 */
export function evaluatePreconditions(
  p: Preconditions,
  obj: { etag: string; lastModified: number },
): 'ok' | 'failed' | 'not-modified' {
  // Last-Modified has a resolution of one second on the wire.
  const modified = Math.floor(obj.lastModified / 1000) * 1000;
  if (p.ifMatch !== undefined) {
    if (!etagMatches(p.ifMatch, obj.etag)) return 'failed';
  } else {
    const since = parseDate(p.ifUnmodifiedSince);
    if (since !== undefined && modified > since) return 'failed';
  }
  if (p.ifNoneMatch !== undefined) {
    if (etagMatches(p.ifNoneMatch, obj.etag)) return 'not-modified';
  } else {
    const since = parseDate(p.ifModifiedSince);
    if (since !== undefined && modified <= since) return 'not-modified';
  }
  return 'ok';
}
