/**
 * Classify anything thrown while serving a request: an `ApiError` is answered as is; framework and
 * store errors caused by the request are translated into the right `ApiError`; everything else is a
 * bug (`undefined` here), answered 500 with a generic message by the error handler.
 */
import {
  ApiError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
  codeForStatus,
} from '@photoncloud/errors';
import { StoreError } from '@photoncloud/store';
import type { StoreErrorKind } from '@photoncloud/store';

/** What `toApiError` needs to know about the request. */
export interface ErrorContext {
  /** The request's Content-Type header, for 415 messages. */
  contentType?: string;
  /** The body limit in force, for 413 messages. */
  bodyLimit?: number;
}

/** True for a `StoreError`, also when it comes from another copy of the store module. */
export function isStoreError(err: unknown): err is StoreError {
  if (err instanceof StoreError) return true;
  return (
    err instanceof Error && err.name === 'StoreError' && typeof (err as { kind?: unknown }).kind === 'string'
  );
}

/** Map a store error onto the API: bad requests 400/413, missing things 404, store trouble 503. */
export function storeErrorToApiError(err: StoreError): ApiError {
  const kind: StoreErrorKind = err.kind;
  const opts = { details: { store_error: kind }, cause: err };
  switch (kind) {
    case 'emptyKey':
      return new ValidationError('key', 'minLength', 'key must not be empty', {
        details: { store_error: kind },
        cause: err,
      });
    case 'keyTooLarge':
      return new ValidationError('key', 'maxLength', 'key is too large for the store', {
        details: { store_error: kind },
        cause: err,
      });
    case 'requestTooLarge':
      return new PayloadTooLargeError('request is too large for the store', {
        ...opts,
        hint: 'Store values smaller than 1.5 MiB',
      });
    case 'tooManyOps':
    case 'duplicateKey':
    case 'valueProvided':
    case 'leaseProvided':
    case 'leaseTtlTooLarge':
      return new BadRequestError(err.message, opts);
    case 'compacted':
      return new BadRequestError(err.message, {
        ...opts,
        hint: 'Read at a newer revision; older history was compacted',
      });
    case 'futureRev':
      return new BadRequestError(err.message, { ...opts, hint: 'The requested revision does not exist yet' });
    case 'leaseNotFound':
      return new NotFoundError('lease', undefined, { ...opts, details: { store_error: kind } });
    case 'keyNotFound':
      return new NotFoundError('key', undefined, { ...opts, details: { store_error: kind } });
    case 'memberNotFound':
      return new NotFoundError('member', undefined, { ...opts, details: { store_error: kind } });
    case 'leaseExists':
      return new ConflictError(err.message, opts);
    case 'noLeader':
    case 'notLeader':
    case 'stopped':
    case 'timeout':
    case 'unavailable':
      return new ServiceUnavailableError(err.message, 1, opts);
    default: {
      const unknownKind: never = kind;
      return new ServiceUnavailableError(`store error: ${String(unknownKind)}`, 1, { cause: err });
    }
  }
}

interface FrameworkError extends Error {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

const CONTEXT_LOCATION: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

/** Ajv-style validation entries (from a validator other than ours) → ValidationError. */
function fromAjvValidation(err: FrameworkError): ValidationError | undefined {
  if (!Array.isArray(err.validation) || err.validation.length === 0) return undefined;
  const first = err.validation[0] as {
    instancePath?: string;
    keyword?: string;
    params?: Record<string, unknown>;
    message?: string;
  };
  const location = CONTEXT_LOCATION[String(err.validationContext)] ?? 'body';
  const path = (first.instancePath ?? '').split('/').slice(1).join('.');
  const missing = first.params?.['missingProperty'];
  const field = typeof missing === 'string' ? (path ? `${path}.${missing}` : missing) : path || location;
  const constraint = first.keyword ?? 'invalid';
  const message =
    constraint === 'required' ? `${field} is required` : `${field} ${first.message ?? 'is invalid'}`;
  return new ValidationError(field, constraint, message, { details: { location } });
}

/**
 * Translate `err` into the `ApiError` to answer with, or `undefined` when it is a bug.
 * Only errors fastify raises about the request itself (codes `FST_*` with a 4xx status) pass through.
 */
export function toApiError(err: unknown, ctx: ErrorContext = {}): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (isStoreError(err)) return storeErrorToApiError(err);
  if (!(err instanceof Error)) return undefined;
  const fe = err as FrameworkError;
  const code = typeof fe.code === 'string' ? fe.code : '';
  switch (code) {
    case 'FST_ERR_VALIDATION':
      return fromAjvValidation(fe) ?? new BadRequestError(err.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError(ctx.contentType);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError(
        ctx.bodyLimit === undefined
          ? 'Request body is too large'
          : `Request body exceeds the limit of ${ctx.bodyLimit} bytes`,
        ctx.bodyLimit === undefined ? {} : { details: { limit: ctx.bodyLimit } },
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BadRequestError('Malformed JSON body', {
        hint: 'Check the JSON syntax of the request body',
      });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BadRequestError('Content-Length does not match the body');
    case 'FST_ERR_BAD_URL':
      return new BadRequestError('Malformed URL: invalid percent-encoding', {
        hint: 'Percent-encode the path as UTF-8 (e.g. %2F for "/")',
      });
    case 'FST_ERR_HANDLER_TIMEOUT':
      return new ServiceUnavailableError('Request timed out', 1);
    default:
      break;
  }
  // The default JSON parser throws a SyntaxError tagged 400 (bad JSON, forbidden __proto__ keys).
  if (err instanceof SyntaxError && fe.statusCode === 400) {
    return new BadRequestError(`Malformed JSON body: ${err.message}`, {
      hint: 'Check the JSON syntax of the request body',
    });
  }
  if (
    code.startsWith('FST_') &&
    typeof fe.statusCode === 'number' &&
    fe.statusCode >= 400 &&
    fe.statusCode < 500
  ) {
    return new ApiError(codeForStatus(fe.statusCode), err.message);
  }
  return undefined;
}
