/**
 * ETags and conditional requests (RFC 9110 §8.8.3, §13.1). Resources here are versioned by the
 * store's mod revision, so an ETag is the quoted revision: `"42"`. `If-Match` uses the strong
 * comparison (a weak tag never matches); `*` matches any existing resource.
 */
import { BadRequestError, PreconditionFailedError } from '@photoncloud/errors';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** An entity tag as it appears in a header list. */
export interface EntityTag {
  weak: boolean;
  /** The opaque value, without quotes. */
  value: string;
}

/** `"<value>"` for a revision or any opaque version. */
export function formatETag(version: number | string): string {
  return `"${String(version)}"`;
}

/** Set the `ETag` response header. */
export function setETag(reply: FastifyReply, version: number | string): void {
  void reply.header('ETag', formatETag(version));
}

/**
 * Parse an `If-Match`/`If-None-Match` value: `'*'`, or the list of tags. Bare tokens (`If-Match: 42`,
 * as people type them in curl) are accepted as if quoted. Unparsable input → 400.
 */
export function parseETagList(header: string, name = 'If-Match'): '*' | EntityTag[] {
  const trimmed = header.trim();
  if (trimmed === '*') return '*';
  const tags: EntityTag[] = [];
  const re = /\s*(W\/)?(?:"([\x21\x23-\x7e\x80-\xff]*)"|([\x21\x23-\x2b\x2d-\x7e]+))\s*(?:,|$)/y;
  let pos = 0;
  while (pos < trimmed.length) {
    re.lastIndex = pos;
    const m = re.exec(trimmed);
    if (m === null || m[0].length === 0) {
      throw new BadRequestError(`Malformed ${name} header`, {
        details: { header: name },
        hint: `Use ${name}: "<etag>" with the ETag from a previous response, or *`,
      });
    }
    tags.push({ weak: m[1] !== undefined, value: m[2] ?? m[3] ?? '' });
    pos = re.lastIndex;
  }
  if (tags.length === 0) throw new BadRequestError(`Empty ${name} header`, { details: { header: name } });
  return tags;
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Conditions a request asks for, parsed once. */
export interface Preconditions {
  ifMatch?: '*' | EntityTag[];
  ifNoneMatch?: '*' | EntityTag[];
}

/** Read `If-Match` and `If-None-Match` from the request. */
export function readPreconditions(request: FastifyRequest): Preconditions {
  const out: Preconditions = {};
  const im = headerValue(request, 'if-match');
  if (im !== undefined) out.ifMatch = parseETagList(im, 'If-Match');
  const inm = headerValue(request, 'if-none-match');
  if (inm !== undefined) out.ifNoneMatch = parseETagList(inm, 'If-None-Match');
  return out;
}

/** True when `If-Match` holds for a resource whose current tag is `current` (undefined = absent). */
export function ifMatchHolds(cond: '*' | EntityTag[], current: string | undefined): boolean {
  if (current === undefined) return false;
  if (cond === '*') return true;
  return cond.some((t) => !t.weak && t.value === current);
}

/** True when `If-None-Match` holds (weak comparison, RFC 9110 §13.1.2). */
export function ifNoneMatchHolds(cond: '*' | EntityTag[], current: string | undefined): boolean {
  if (current === undefined) return true;
  if (cond === '*') return false;
  return !cond.some((t) => t.value === current);
}

/**
 * Evaluate the request's preconditions against the resource's current version (`undefined` when it
 * does not exist) and throw 412 PRECONDITION_FAILED when one fails. Returns the parsed conditions.
 */
export function checkPreconditions(
  request: FastifyRequest,
  current: number | string | undefined,
): Preconditions {
  const cond = readPreconditions(request);
  const cur = current === undefined ? undefined : String(current);
  if (cond.ifMatch !== undefined && !ifMatchHolds(cond.ifMatch, cur)) {
    throw new PreconditionFailedError(
      cur === undefined
        ? 'Precondition failed: the resource does not exist'
        : 'Precondition failed: If-Match does not match the current ETag',
      { details: { current_etag: cur === undefined ? null : formatETag(cur) } },
    );
  }
  if (cond.ifNoneMatch !== undefined && !ifNoneMatchHolds(cond.ifNoneMatch, cur)) {
    throw new PreconditionFailedError(
      cond.ifNoneMatch === '*'
        ? 'Precondition failed: the resource already exists'
        : 'Precondition failed: If-None-Match matches the current ETag',
      { details: { current_etag: cur === undefined ? null : formatETag(cur) } },
    );
  }
  return cond;
}
