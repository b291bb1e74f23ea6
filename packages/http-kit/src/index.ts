/**
 * @photoncloud/http-kit: the server kit every service is built on (fastify + TypeBox), and the client
 * kit (also importable alone as `@photoncloud/http-kit/client`).
 */
import './fastify-augment.js';

export * from './create-service.js';
export * from './envelope.js';
export * from './pagination.js';
export * from './etag.js';
export * from './auth.js';
export * from './jwks-verifier.js';
export * from './idempotency.js';
export * from './audit.js';
export * from './metrics.js';
export * from './shutdown.js';
export * from './route-table.js';
export * from './to-api-error.js';
export * from './validation.js';
export * from './scope.js';
export * from './client/index.js';
