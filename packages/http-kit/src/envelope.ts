/**
 * The response envelope every service answers with (ARCHITECTURE.md §2):
 *   {"success":true,"data":…,"meta":{"request_id","timestamp"}}
 *   {"success":false,"error":{"code","message","details"},"meta":{…}}
 * The TypeBox schemas here feed both fast response serialization and the OpenAPI document, so the
 * documented shape is the one actually sent.
 */
import { Type } from '@sinclair/typebox';
import type { Static, TArray, TObject, TSchema } from '@sinclair/typebox';
import type { ApiError } from '@photoncloud/errors';
import { ERROR_CODES } from '@photoncloud/errors';
import type { FastifyRequest } from 'fastify';

/** RFC 3339 UTC timestamp at second precision, as in the guide ("2025-12-12T08:30:00Z"). */
export function rfc3339(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `meta` of every response. */
export const Meta = Type.Object({
  request_id: Type.String({ description: 'Echo of X-Request-Id, or a generated UUID v4' }),
  timestamp: Type.String({ format: 'date-time', description: 'RFC 3339 UTC' }),
});
/** `meta` of every response. */
export type Meta = Static<typeof Meta>;

/** `meta` of list responses: adds the page. */
export const ListMeta = Type.Object({
  request_id: Type.String(),
  timestamp: Type.String({ format: 'date-time' }),
  total: Type.Integer({ minimum: 0, description: 'Number of items matching the query (all pages)' }),
  limit: Type.Integer({ minimum: 1 }),
  offset: Type.Integer({ minimum: 0 }),
});
/** `meta` of list responses. */
export type ListMeta = Static<typeof ListMeta>;

/** The `error` member. */
export const ErrorObject = Type.Object({
  code: Type.Union(
    ERROR_CODES.map((c) => Type.Literal(c)),
    { description: 'Machine-readable error code' },
  ),
  message: Type.String(),
  details: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  hint: Type.Optional(Type.String({ description: 'How to fix the request, when known' })),
});

/** The error envelope, used for every 4xx/5xx response. */
export const ErrorEnvelope = Type.Object({
  success: Type.Literal(false),
  error: ErrorObject,
  meta: Meta,
});
/** The error envelope. */
export type ErrorEnvelope = Static<typeof ErrorEnvelope>;

/** Schema of a success envelope around `data`. */
export function envelope<T extends TSchema>(data: T) {
  return Type.Object({ success: Type.Literal(true), data, meta: Meta });
}

/** Schema of a list envelope: `data.<key>` is the page of items, `meta` carries total/limit/offset. */
export function listEnvelope<K extends string, T extends TSchema>(key: K, item: T) {
  const props = { [key]: Type.Array(item) } as Record<K, TArray<T>>;
  return Type.Object({ success: Type.Literal(true), data: Type.Object(props), meta: ListMeta });
}

/** A success envelope. */
export interface SuccessEnvelope<T> {
  success: true;
  data: T;
  meta: Meta;
}

/** Response schemas for the error statuses every route may answer; merge into a route's `response`. */
export const errorResponses = {
  '4xx': ErrorEnvelope,
  '5xx': ErrorEnvelope,
} as const;

/**
 * Route `response` schemas: the given success schemas plus the error envelope for 4xx/5xx.
 * Usage: `response: responses({ 200: envelope(Item) })`.
 */
export function responses<R extends Record<number, TSchema>>(success: R): R & typeof errorResponses {
  return { ...success, ...errorResponses };
}

/** `meta` for this request, now. */
export function metaFor(request: FastifyRequest): Meta {
  return { request_id: request.id, timestamp: rfc3339() };
}

/** Wrap `data` in the success envelope. Handlers `return ok(request, data)`. */
export function ok<T>(request: FastifyRequest, data: T): SuccessEnvelope<T> {
  return { success: true, data, meta: metaFor(request) };
}

/** Build the error envelope for an `ApiError` (never includes a stack). */
export function errorEnvelope(request: FastifyRequest, err: ApiError): ErrorEnvelope {
  return { success: false, error: err.toBody(), meta: metaFor(request) };
}

/** A TypeBox object schema (re-exported type for route authors). */
export type ObjectSchema = TObject;
