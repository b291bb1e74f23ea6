/**
 * Offset pagination (ARCHITECTURE.md §2): `?limit=&offset=`, `meta.total/limit/offset`,
 * `X-Total-Count`, and RFC 8288 `Link` headers for the next and previous pages.
 */
import { Type } from '@sinclair/typebox';
import { ValidationError } from '@photoncloud/errors';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { metaFor } from './envelope.js';
import type { ListMeta } from './envelope.js';

/** One page request. */
export interface Page {
  limit: number;
  offset: number;
}

/** Limits of one list endpoint. */
export interface PageOptions {
  /** Default 20. */
  defaultLimit?: number;
  /** Default 100. */
  maxLimit?: number;
}

/** TypeBox properties for `limit`/`offset`; spread them into a route's querystring schema. */
export function pageQueryProperties(opts: PageOptions = {}) {
  const { defaultLimit = 20, maxLimit = 100 } = opts;
  return {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: maxLimit,
        description: `Items per page (default ${defaultLimit}, max ${maxLimit})`,
      }),
    ),
    offset: Type.Optional(Type.Integer({ minimum: 0, description: 'Items to skip (default 0)' })),
  };
}

function readInt(query: Record<string, unknown>, name: string): number | undefined {
  const raw = query[name];
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw))
      throw new ValidationError(name, 'type', `${name} must be an integer`, {
        details: { location: 'query' },
      });
    return raw;
  }
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new ValidationError(name, 'type', `${name} must be an integer`, { details: { location: 'query' } });
  }
  return Number(raw);
}

/**
 * Read `limit` and `offset` from a parsed querystring. Absent → defaults; anything else that is not an
 * integer in range → 400 VALIDATION_ERROR (never silently clamped: the caller would miss items).
 */
export function parsePage(query: unknown, opts: PageOptions = {}): Page {
  const { defaultLimit = 20, maxLimit = 100 } = opts;
  const q = (query !== null && typeof query === 'object' ? query : {}) as Record<string, unknown>;
  const limit = readInt(q, 'limit') ?? defaultLimit;
  const offset = readInt(q, 'offset') ?? 0;
  if (limit < 1)
    throw new ValidationError('limit', 'minimum', 'limit must be at least 1', {
      details: { location: 'query', limit: 1 },
    });
  if (limit > maxLimit) {
    throw new ValidationError('limit', 'maximum', `limit must be at most ${maxLimit}`, {
      details: { location: 'query', limit: maxLimit },
    });
  }
  if (offset < 0)
    throw new ValidationError('offset', 'minimum', 'offset must be at least 0', {
      details: { location: 'query', limit: 0 },
    });
  return { limit, offset };
}

/** The `Link` header for `page` of `total` items, relative to the request's own URL. */
export function linkHeader(requestUrl: string, page: Page, total: number): string | undefined {
  const q = requestUrl.indexOf('?');
  const path = q < 0 ? requestUrl : requestUrl.slice(0, q);
  const search = q < 0 ? '' : requestUrl.slice(q + 1);
  const link = (offset: number, rel: string): string => {
    const params = new URLSearchParams(search);
    // Re-append in a fixed order so links look the same whatever order the request used.
    params.delete('limit');
    params.delete('offset');
    params.append('limit', String(page.limit));
    params.append('offset', String(offset));
    return `<${path}?${params.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page.offset + page.limit < total) links.push(link(page.offset + page.limit, 'next'));
  if (page.offset > 0) links.push(link(Math.max(0, page.offset - page.limit), 'prev'));
  return links.length === 0 ? undefined : links.join(', ');
}

/** A list envelope. */
export interface ListEnvelope<K extends string, T> {
  success: true;
  data: Record<K, T[]>;
  meta: ListMeta;
}

/** Arguments of `listResponse`. */
export interface ListResponseOptions<K extends string, T> {
  /** Name of the array in `data` (the guide's: `items`, `vms`, `vpcs`, …). */
  key: K;
  /** This page's items. */
  items: T[];
  /** Number of items matching the query over all pages. */
  total: number;
  page: Page;
}

/**
 * Build a list response: sets `X-Total-Count` and `Link`, returns the envelope with
 * `meta.total/limit/offset`. Handlers `return listResponse(request, reply, {...})`.
 */
export function listResponse<K extends string, T>(
  request: FastifyRequest,
  reply: FastifyReply,
  opts: ListResponseOptions<K, T>,
): ListEnvelope<K, T> {
  const { key, items, total, page } = opts;
  void reply.header('X-Total-Count', String(total));
  const link = linkHeader(request.url, page, total);
  if (link !== undefined) void reply.header('Link', link);
  return {
    success: true,
    data: { [key]: items } as Record<K, T[]>,
    meta: { ...metaFor(request), total, limit: page.limit, offset: page.offset },
  };
}
