/**
 * API errors: one table maps every error code to its HTTP status, and one named class per code.
 *
 * Throw an `ApiError` (or a subclass) for anything the caller did wrong or may retry: the server kit
 * answers it with the envelope `{"success":false,"error":{"code","message","details"},…}` and its status.
 * Anything thrown that is NOT an `ApiError` is a bug: the kit logs it with its stack and answers
 * 500 INTERNAL_ERROR with a generic message (see `isUserError`).
 */

/** The single table of error codes and their HTTP statuses (ARCHITECTURE.md §2, the patterns table). */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

/** Every error code an API may answer with. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The `error` member of an error envelope. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown> | null;
  /** What the caller can do about it, when we know. */
  hint?: string;
}

/** Options shared by every `ApiError` constructor. */
export interface ApiErrorOptions {
  /** Machine-readable context, e.g. `{field, constraint}` or `{resource, id}`. */
  details?: Record<string, unknown> | null;
  /** A human hint on how to fix the request. */
  hint?: string;
  /** Extra response headers (e.g. `Allow`, `Retry-After`, `WWW-Authenticate`). */
  headers?: Record<string, string>;
  /** The underlying error, kept for logs only; never sent to the client. */
  cause?: unknown;
}

/** Status code for an error code. */
export function statusForCode(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

/**
 * The error code used for a bare HTTP status (for errors that arrive as a status only, e.g. from a
 * framework or a non-envelope upstream). 400 maps to BAD_REQUEST, unknown 4xx to BAD_REQUEST and
 * unknown 5xx to INTERNAL_ERROR.
 */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 409:
      return 'CONFLICT';
    case 412:
      return 'PRECONDITION_FAILED';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 422:
      return 'IDEMPOTENCY_KEY_REUSED';
    case 429:
      return 'RATE_LIMITED';
    case 503:
      return 'SERVICE_UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
  }
}

/** Base class of every error an API answers on purpose. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  /** HTTP status, from `ERROR_STATUS`. */
  readonly status: number;
  /** Same as `status`; the name web frameworks look for. */
  readonly statusCode: number;
  readonly details: Record<string, unknown> | null;
  readonly hint: string | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, opts: ApiErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.statusCode = this.status;
    this.details = opts.details ?? null;
    this.hint = opts.hint;
    this.headers = opts.headers ?? {};
  }

  /** The `error` member of the envelope. Never contains the stack or the cause. */
  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message, details: this.details };
    if (this.hint !== undefined) body.hint = this.hint;
    return body;
  }
}

/** 400: the request is malformed (bad JSON, bad query, bad URL). */
export class BadRequestError extends ApiError {
  constructor(message: string, opts?: ApiErrorOptions) {
    super('BAD_REQUEST', message, opts);
    this.name = 'BadRequestError';
  }
}

/** Names of validation constraints, as JSON Schema keywords (`required`, `type`, `maxLength`, …). */
export type Constraint = string;

/** 400: a field failed validation; `details: {field, constraint}` (the guide's example). */
export class ValidationError extends ApiError {
  readonly field: string;
  readonly constraint: Constraint;

  constructor(
    field: string,
    constraint: Constraint,
    message?: string,
    opts: Omit<ApiErrorOptions, 'details'> & { details?: Record<string, unknown> } = {},
  ) {
    super('VALIDATION_ERROR', message ?? defaultValidationMessage(field, constraint), {
      ...opts,
      details: { field, constraint, ...opts.details },
    });
    this.name = 'ValidationError';
    this.field = field;
    this.constraint = constraint;
  }
}

function defaultValidationMessage(field: string, constraint: Constraint): string {
  return constraint === 'required' ? `${field} is required` : `${field} is invalid (${constraint})`;
}

/** 401: no credentials, or credentials that do not verify. Adds `WWW-Authenticate: Bearer`. */
export class UnauthorizedError extends ApiError {
  constructor(message = 'Authentication required', opts: ApiErrorOptions = {}) {
    super('UNAUTHORIZED', message, {
      hint: 'Send "Authorization: Bearer <token>" with a token issued by IAM',
      ...opts,
      headers: { 'WWW-Authenticate': 'Bearer realm="photoncloud"', ...opts.headers },
    });
    this.name = 'UnauthorizedError';
  }
}

/** 403: authenticated, but not allowed. */
export class ForbiddenError extends ApiError {
  constructor(message = 'Permission denied', opts?: ApiErrorOptions) {
    super('FORBIDDEN', message, opts);
    this.name = 'ForbiddenError';
  }
}

/** 404: the resource does not exist; `details: {resource, id}` when known. */
export class NotFoundError extends ApiError {
  constructor(resource?: string, id?: string, opts: ApiErrorOptions = {}) {
    const message =
      resource === undefined
        ? 'Resource not found'
        : id === undefined
          ? `${resource} not found`
          : `${resource} ${id} not found`;
    const details =
      resource === undefined
        ? (opts.details ?? null)
        : { resource, ...(id === undefined ? {} : { id }), ...opts.details };
    super('NOT_FOUND', message, { ...opts, details });
    this.name = 'NotFoundError';
  }
}

/** 405: the path exists but not for this method; sets the `Allow` header. */
export class MethodNotAllowedError extends ApiError {
  readonly allow: string[];

  constructor(method: string, allow: string[], opts: ApiErrorOptions = {}) {
    super('METHOD_NOT_ALLOWED', `Method ${method} is not allowed here; allowed: ${allow.join(', ')}`, {
      ...opts,
      details: { method, allow, ...opts.details },
      headers: { Allow: allow.join(', '), ...opts.headers },
    });
    this.name = 'MethodNotAllowedError';
    this.allow = allow;
  }
}

/** 409: the resource already exists, or the action is illegal in its current state. */
export class ConflictError extends ApiError {
  constructor(message: string, opts?: ApiErrorOptions) {
    super('CONFLICT', message, opts);
    this.name = 'ConflictError';
  }
}

/** 412: an `If-Match` / `If-None-Match` precondition did not hold. */
export class PreconditionFailedError extends ApiError {
  constructor(message = 'Precondition failed: the resource has changed', opts?: ApiErrorOptions) {
    super('PRECONDITION_FAILED', message, opts);
    this.name = 'PreconditionFailedError';
  }
}

/** 413: the body (or one field of it) is larger than allowed. */
export class PayloadTooLargeError extends ApiError {
  constructor(message = 'Request body is too large', opts?: ApiErrorOptions) {
    super('PAYLOAD_TOO_LARGE', message, opts);
    this.name = 'PayloadTooLargeError';
  }
}

/** 415: a body in a content type the endpoint does not read. */
export class UnsupportedMediaTypeError extends ApiError {
  constructor(contentType: string | undefined, opts: ApiErrorOptions = {}) {
    super(
      'UNSUPPORTED_MEDIA_TYPE',
      contentType === undefined
        ? 'Request body has no Content-Type'
        : `Unsupported Content-Type: ${contentType}`,
      {
        hint: 'Send JSON with "Content-Type: application/json"',
        ...opts,
        details: { content_type: contentType ?? null, ...opts.details },
      },
    );
    this.name = 'UnsupportedMediaTypeError';
  }
}

/** 422: the same `Idempotency-Key` was sent with a different request. */
export class IdempotencyKeyReusedError extends ApiError {
  constructor(message = 'Idempotency-Key was already used for a different request', opts?: ApiErrorOptions) {
    super('IDEMPOTENCY_KEY_REUSED', message, {
      hint: 'Use a new Idempotency-Key for a new request',
      ...opts,
    });
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** 429: too many requests; sets `Retry-After` when given. */
export class RateLimitedError extends ApiError {
  constructor(message = 'Too many requests', retryAfterSeconds?: number, opts: ApiErrorOptions = {}) {
    super('RATE_LIMITED', message, {
      ...opts,
      headers: {
        ...(retryAfterSeconds === undefined ? {} : { 'Retry-After': String(Math.ceil(retryAfterSeconds)) }),
        ...opts.headers,
      },
    });
    this.name = 'RateLimitedError';
  }
}

/** 500: only for deliberate internal failures; unknown throwables become this automatically. */
export class InternalError extends ApiError {
  constructor(message = 'Internal server error', opts?: ApiErrorOptions) {
    super('INTERNAL_ERROR', message, opts);
    this.name = 'InternalError';
  }
}

/** 503: temporarily unable to serve (no leader, store down, shutting down); sets `Retry-After` when given. */
export class ServiceUnavailableError extends ApiError {
  constructor(
    message = 'Service temporarily unavailable',
    retryAfterSeconds?: number,
    opts: ApiErrorOptions = {},
  ) {
    super('SERVICE_UNAVAILABLE', message, {
      ...opts,
      headers: {
        ...(retryAfterSeconds === undefined ? {} : { 'Retry-After': String(Math.ceil(retryAfterSeconds)) }),
        ...opts.headers,
      },
    });
    this.name = 'ServiceUnavailableError';
  }
}

/** True for errors the API answers on purpose (any `ApiError`). */
export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

/**
 * True for errors caused by the caller (4xx): reported to them with a hint, logged at a low level.
 * 5xx `ApiError`s are operational (store down, no leader): logged as warnings. Anything else is a bug.
 */
export function isUserError(err: unknown): err is ApiError {
  return err instanceof ApiError && err.status < 500;
}

/** Every error code, for schemas and clients. */
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];
