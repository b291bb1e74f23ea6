import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiError,
  BadRequestError,
  ConflictError,
  ERROR_CODES,
  ERROR_STATUS,
  ForbiddenError,
  IdempotencyKeyReusedError,
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  RateLimitedError,
  ServiceUnavailableError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  codeForStatus,
  isApiError,
  isUserError,
} from './index.js';

test('every named error carries the status from the one table', () => {
  const cases: Array<[ApiError, string, number]> = [
    [new BadRequestError('x'), 'BAD_REQUEST', 400],
    [new ValidationError('cidr_block', 'required'), 'VALIDATION_ERROR', 400],
    [new UnauthorizedError(), 'UNAUTHORIZED', 401],
    [new ForbiddenError(), 'FORBIDDEN', 403],
    [new NotFoundError('vm', 'vm-1'), 'NOT_FOUND', 404],
    [new MethodNotAllowedError('PATCH', ['GET', 'PUT']), 'METHOD_NOT_ALLOWED', 405],
    [new ConflictError('exists'), 'CONFLICT', 409],
    [new PreconditionFailedError(), 'PRECONDITION_FAILED', 412],
    [new PayloadTooLargeError(), 'PAYLOAD_TOO_LARGE', 413],
    [new UnsupportedMediaTypeError('text/xml'), 'UNSUPPORTED_MEDIA_TYPE', 415],
    [new IdempotencyKeyReusedError(), 'IDEMPOTENCY_KEY_REUSED', 422],
    [new RateLimitedError(), 'RATE_LIMITED', 429],
    [new InternalError(), 'INTERNAL_ERROR', 500],
    [new ServiceUnavailableError(), 'SERVICE_UNAVAILABLE', 503],
  ];
  for (const [err, code, status] of cases) {
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    assert.equal(err.statusCode, status);
    assert.equal(ERROR_STATUS[err.code], status);
    assert.ok(err instanceof ApiError && err instanceof Error);
  }
  assert.equal(cases.length, ERROR_CODES.length, 'one class per code');
});

test('ValidationError has the guide shape', () => {
  const err = new ValidationError('cidr_block', 'required');
  assert.deepEqual(err.toBody(), {
    code: 'VALIDATION_ERROR',
    message: 'cidr_block is required',
    details: { field: 'cidr_block', constraint: 'required' },
  });
  const custom = new ValidationError('key', 'maxLength', 'key must be at most 1024 bytes', {
    details: { limit: 1024 },
  });
  assert.deepEqual(custom.details, { field: 'key', constraint: 'maxLength', limit: 1024 });
});

test('NotFoundError details and messages', () => {
  assert.deepEqual(new NotFoundError('vm', 'vm-123').toBody(), {
    code: 'NOT_FOUND',
    message: 'vm vm-123 not found',
    details: { resource: 'vm', id: 'vm-123' },
  });
  assert.equal(new NotFoundError().details, null);
  assert.equal(new NotFoundError().message, 'Resource not found');
});

test('headers: Allow, WWW-Authenticate, Retry-After', () => {
  assert.equal(new MethodNotAllowedError('POST', ['GET', 'HEAD']).headers.Allow, 'GET, HEAD');
  assert.match(new UnauthorizedError().headers['WWW-Authenticate'] ?? '', /^Bearer/);
  assert.equal(new RateLimitedError('slow down', 1.2).headers['Retry-After'], '2');
  assert.equal(new ServiceUnavailableError('no leader', 1).headers['Retry-After'], '1');
});

test('toBody never leaks the cause or the stack; hint only when set', () => {
  const err = new BadRequestError('bad', { cause: new Error('secret internals'), hint: 'fix it' });
  const body = JSON.stringify(err.toBody());
  assert.ok(!body.includes('secret'));
  assert.ok(!body.includes('at '));
  assert.equal(err.toBody().hint, 'fix it');
  assert.equal('hint' in new ConflictError('x').toBody(), false);
});

test('user errors vs bugs', () => {
  assert.equal(isUserError(new ValidationError('a', 'type')), true);
  assert.equal(isUserError(new ServiceUnavailableError()), false);
  assert.equal(isApiError(new ServiceUnavailableError()), true);
  assert.equal(isApiError(new TypeError('boom')), false);
  assert.equal(isUserError(new TypeError('boom')), false);
});

test('codeForStatus', () => {
  assert.equal(codeForStatus(404), 'NOT_FOUND');
  assert.equal(codeForStatus(418), 'BAD_REQUEST');
  assert.equal(codeForStatus(502), 'INTERNAL_ERROR');
  assert.equal(codeForStatus(503), 'SERVICE_UNAVAILABLE');
});
