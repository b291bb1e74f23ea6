/**
 * `createService`: one fastify app with everything every PhotonCloud service needs, wired once —
 * request IDs, the envelope, error mapping (400/404/405/413/415/…, never a stack trace), TypeBox
 * validation, OpenAPI at /api/v1/openapi.json, /health, /metrics, per-request logs, auth,
 * Idempotency-Key, audit events and graceful shutdown. Services add their routes to `app`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LogController, fastify } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fastifySwagger } from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ApiError, InternalError, MethodNotAllowedError, ServiceUnavailableError } from '@photoncloud/errors';
import { createLogger } from '@photoncloud/log';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import type { Registry } from 'prom-client';
import './fastify-augment.js';
import { LogAuditSink, StoreAuditSink, outcomeOf, sortableId } from './audit.js';
import type { AuditEvent, AuditSink } from './audit.js';
import { authenticate, checkRevocation, isLoopback } from './auth.js';
import type { AuthOptions, Principal } from './auth.js';
import { Meta, envelope, errorEnvelope, metaFor, ok } from './envelope.js';
import { Idempotency, idempotencyKeyOf } from './idempotency.js';
import { createHttpMetrics } from './metrics.js';
import { RouteTable } from './route-table.js';
import { toApiError } from './to-api-error.js';
import { typeboxValidatorCompiler } from './validation.js';

/** The fastify instance services add routes to (TypeBox-typed). */
export type ServiceApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** A health check: resolves when healthy, throws (with a reason) when not. */
export type HealthCheck = () => Promise<void>;

/** Options of `createService`. */
export interface ServiceOptions {
  /** Service name (`chainfire`, `iam`, …): logs, metrics, audit, idempotency keys. */
  name: string;
  version: string;
  logger?: Logger;
  auth: AuthOptions;
  /** The control-plane store; enables Idempotency-Key, the default audit sink and a `store` health check. */
  store?: Store;
  /** Default: `StoreAuditSink` with a store, else `LogAuditSink`. */
  audit?: AuditSink;
  /** Default body limit in bytes (routes may set their own); default 1 MiB. */
  bodyLimit?: number;
  health?: { checks?: Record<string, HealthCheck>; timeoutMs?: number };
  /** Idempotency settings; `false` disables it even with a store. */
  idempotency?: { ttlSeconds?: number; pendingTimeoutSeconds?: number } | false;
  /** How long `close()` waits for in-flight requests before cutting connections; default 10 s. */
  shutdownTimeoutMs?: number;
  /** Shown in the OpenAPI document. */
  description?: string;
}

/** Address a service listens on. */
export interface ListenAddress {
  host: string;
  port: number;
  /** `http://host:port`, ready for a client. */
  url: string;
}

/** A running (or ready-to-run) service. */
export interface Service {
  readonly name: string;
  readonly version: string;
  readonly app: ServiceApp;
  readonly logger: Logger;
  /** This service's Prometheus registry. */
  readonly metrics: Registry;
  /** Listen on `host:port` (default 127.0.0.1 and a free port from the OS). */
  listen(opts?: { host?: string; port?: number }): Promise<ListenAddress>;
  /** Stop accepting, drain in-flight requests, flush audit, then run `onClose` callbacks (last added first). */
  close(): Promise<void>;
  /** Register a resource to close after the server has drained. */
  onClose(fn: () => Promise<void> | void): void;
  /** Add a check to `/health`. */
  addHealthCheck(name: string, check: HealthCheck): void;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const MIB = 1024 * 1024;

/** A client request ID is echoed only when it is short and plain, so it is safe in logs and headers. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdOf(req: IncomingMessage): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function auditPrincipal(p: Principal | null): AuditEvent['principal'] {
  if (p === null) return null;
  const out: NonNullable<AuditEvent['principal']> = { id: p.id, kind: p.kind };
  if (p.orgId !== undefined) out.org_id = p.orgId;
  if (p.projectId !== undefined) out.project_id = p.projectId;
  return out;
}

/** Record which resource an audited request acted on (e.g. the created VM's ID). */
export function setAuditResource(request: FastifyRequest, id: string): void {
  request.auditResourceId = id;
}

function resourceIdOf(request: FastifyRequest): string | undefined {
  if (request.auditResourceId !== undefined) return request.auditResourceId;
  const params = request.params as Record<string, unknown> | undefined;
  const id = params?.['id'];
  return typeof id === 'string' ? id : undefined;
}

const HealthCheckResult = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]),
  error: Type.Optional(Type.String()),
});

const HealthData = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]),
  service: Type.String(),
  version: Type.String(),
  uptime_seconds: Type.Integer({ minimum: 0 }),
  checks: Type.Record(Type.String(), HealthCheckResult),
});

/** Create a service. Register routes on `service.app` afterwards, then `listen()`. */
export async function createService(opts: ServiceOptions): Promise<Service> {
  if (opts.auth.mode === 'required' && opts.auth.verifyToken === undefined) {
    // Every request would be refused: a configuration mistake to report at startup, not per request.
    throw new Error(`createService(${opts.name}): auth mode "required" needs auth.verifyToken`);
  }
  const logger = opts.logger ?? createLogger({ service: opts.name });
  const metrics = createHttpMetrics();
  const routes = new RouteTable();
  const startedAt = Date.now();
  const bodyLimit = opts.bodyLimit ?? MIB;
  const publicPaths = new Set(['/health', ...(opts.auth.publicPaths ?? [])]);
  const audit: AuditSink =
    opts.audit ??
    (opts.store ? new StoreAuditSink(opts.store, opts.name, { logger }) : new LogAuditSink(logger));
  const idem =
    opts.store !== undefined && opts.idempotency !== false
      ? new Idempotency({
          store: opts.store,
          service: opts.name,
          ttlSeconds: opts.idempotency?.ttlSeconds,
          pendingTimeoutSeconds: opts.idempotency?.pendingTimeoutSeconds,
          logger,
        })
      : undefined;
  const checks = new Map<string, HealthCheck>(Object.entries(opts.health?.checks ?? {}));
  if (opts.store !== undefined && !checks.has('store')) {
    const store = opts.store;
    checks.set('store', async () => {
      await store.status();
    });
  }
  const closers: Array<() => Promise<void> | void> = [];
  let closing = false;
  let closed: Promise<void> | undefined;

  function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const known = toApiError(err, {
      contentType: request.headers['content-type'],
      bodyLimit: request.routeOptions?.bodyLimit ?? bodyLimit,
    });
    let answer: ApiError;
    if (known === undefined) {
      // A bug: full details in the log, a generic message to the caller.
      request.log.error({ err }, 'unhandled error');
      answer = new InternalError('Internal server error', {
        hint: `Report request id ${request.id} to the operator`,
      });
    } else {
      answer = known;
      if (answer.status >= 500) request.log.warn({ err }, answer.message);
      else request.log.debug({ code: answer.code, message: answer.message }, 'request rejected');
    }
    if (reply.sent) return;
    void reply.header('X-Request-Id', request.id);
    for (const [name, value] of Object.entries(answer.headers)) void reply.header(name, value);
    void reply.code(answer.status).send(errorEnvelope(request, answer));
  }

  const app = fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request is written by our onResponse hook (with route and principal) instead.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: requestIdOf,
    bodyLimit,
    // Requests arriving while we drain get our own 503 envelope (onRequest below), not fastify's.
    return503OnClosing: false,
    // Keys and IDs travel in the path; let our validation (not the router) reject long ones.
    routerOptions: { maxParamLength: 16_384 },
    // Errors the router raises before any route runs (bad percent-encoding) get the envelope too.
    frameworkErrors: (err, request, reply) => handleError(err, request, reply),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as ServiceApp;

  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.decorateRequest('principal', null);
  app.decorateRequest('auditResourceId', undefined);
  app.addHook('onRoute', (route) => routes.add(route.method, route.url));

  // JSON only: text/plain would reach handlers as a string. An empty JSON body counts as "no body",
  // so `curl -X POST … -H 'Content-Type: application/json'` works for action endpoints.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') {
      done(null, undefined);
      return;
    }
    defaultJson(request, body as string, done);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: `PhotonCloud ${opts.name} API`,
        version: opts.version,
        ...(opts.description === undefined ? {} : { description: opts.description }),
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      security: [{ bearerAuth: [] }],
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('X-Request-Id', request.id);
    if (closing) {
      void reply.header('Connection', 'close');
      throw new ServiceUnavailableError('Service is shutting down', 1);
    }
    const isPublic = publicPaths.has(pathOf(request.url)) || request.routeOptions.config?.public === true;
    await authenticate(request, opts.auth, isPublic);
    await checkRevocation(request, opts.auth, isPublic);
  });

  const authorize = opts.auth.authorize;
  if (authorize !== undefined) {
    // After body parsing (policies may look at org_id/project_id in the body), before validation (so a
    // caller without access learns nothing about the schema) and before Idempotency-Key replays.
    app.addHook('preValidation', async (request) => {
      const p = request.principal;
      if (p === null || p.kind === 'local' || request.is404) return;
      if (publicPaths.has(pathOf(request.url)) || request.routeOptions.config?.public === true) return;
      await authorize(request, p);
    });
  }

  if (idem !== undefined) {
    app.addHook('preHandler', async (request, reply) => {
      if (request.method !== 'POST' || request.is404 || request.routeOptions.config?.idempotency === false)
        return;
      const key = idempotencyKeyOf(request);
      if (key === undefined) return;
      if (!(await idem.begin(request, reply, key))) return reply;
      return;
    });
    app.addHook('onSend', async (request, reply, payload) => {
      await idem.finish(request, reply, payload);
      return payload;
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const route = request.is404 ? null : (request.routeOptions.url ?? null);
    const labels = { method: request.method, route: route ?? 'unmatched', status_code: String(status) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    const path = pathOf(request.url);
    const line = {
      method: request.method,
      route,
      path,
      status_code: status,
      duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
      principal: request.principal?.id ?? null,
    };
    // Probes and scrapes every few seconds would drown the real traffic at info level.
    if (path === '/health' || path === '/metrics') request.log.debug(line, 'request completed');
    else request.log.info(line, 'request completed');
    if (idem !== undefined) await idem.abandon(request);
    if (MUTATING.has(request.method)) {
      const event: AuditEvent = {
        id: sortableId(),
        time: new Date().toISOString(),
        service: opts.name,
        principal: auditPrincipal(request.principal),
        method: request.method,
        route,
        path,
        status_code: status,
        outcome: outcomeOf(status),
        request_id: request.id,
      };
      const resourceId = resourceIdOf(request);
      if (resourceId !== undefined) event.resource_id = resourceId;
      try {
        audit.emit(event);
      } catch (err) {
        request.log.error({ err }, 'audit sink threw');
      }
    }
  });

  app.setNotFoundHandler(async (request) => {
    const path = pathOf(request.url);
    const allow = routes.allowed(path);
    if (allow.length > 0) throw new MethodNotAllowedError(request.method, allow);
    throw new ApiError('NOT_FOUND', `No route for ${request.method} ${path}`, {
      details: { method: request.method, path },
      hint: 'See GET /api/v1/openapi.json for the routes of this service',
    });
  });

  app.setErrorHandler(handleError);

  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        tags: ['system'],
        summary: 'Service health',
        description:
          'Runs every registered check. 200 when all pass, 503 (status "unhealthy") otherwise. No auth needed.',
        security: [],
        response: {
          200: envelope(HealthData),
          503: Type.Object({
            success: Type.Literal(false),
            data: HealthData,
            error: Type.Object({
              code: Type.Literal('SERVICE_UNAVAILABLE'),
              message: Type.String(),
              details: Type.Any(),
            }),
            meta: Meta,
          }),
        },
      },
    },
    async (request, reply) => {
      const timeoutMs = opts.health?.timeoutMs ?? 5000;
      const results: Record<string, { status: 'healthy' | 'unhealthy'; error?: string }> = {};
      await Promise.all(
        [...checks].map(async ([name, check]) => {
          let timer: NodeJS.Timeout | undefined;
          try {
            await Promise.race([
              check(),
              new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
              }),
            ]);
            results[name] = { status: 'healthy' };
          } catch (err) {
            results[name] = { status: 'unhealthy', error: err instanceof Error ? err.message : String(err) };
          } finally {
            clearTimeout(timer);
          }
        }),
      );
      const failed = Object.keys(results).filter((k) => results[k]?.status === 'unhealthy');
      const data = {
        status: failed.length === 0 ? ('healthy' as const) : ('unhealthy' as const),
        service: opts.name,
        version: opts.version,
        uptime_seconds: Math.floor((Date.now() - startedAt) / 1000),
        checks: results,
      };
      if (failed.length === 0) return ok(request, data);
      return reply.code(503).send({
        success: false as const,
        data,
        error: {
          code: 'SERVICE_UNAVAILABLE' as const,
          message: `Health check failed: ${failed.join(', ')}`,
          details: { failed },
        },
        meta: metaFor(request),
      });
    },
  );

  // Public like /health (docs/adr/0003-metrics-are-public.md): NightLight scrapes it without a token.
  app.get('/metrics', { schema: { hide: true }, config: { public: true } }, async (_request, reply) => {
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const service: Service = {
    name: opts.name,
    version: opts.version,
    app,
    logger,
    metrics: metrics.registry,
    async listen(listenOpts = {}) {
      const host = listenOpts.host ?? '127.0.0.1';
      await app.listen({ host, port: listenOpts.port ?? 0 });
      const addr = app.server.address() as AddressInfo;
      const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      logger.info({ host: addr.address, port: addr.port, auth: opts.auth.mode }, `${opts.name} listening`);
      if (opts.auth.mode === 'local' && !isLoopback(addr.address)) {
        // Still safe (only loopback peers act as the local admin), but rarely what the operator meant.
        logger.warn('auth mode "local" on a non-loopback address: remote callers need tokens');
      }
      return { host: addr.address, port: addr.port, url: `http://${shown}:${addr.port}` };
    },
    close() {
      if (closed !== undefined) return closed;
      closing = true;
      closed = (async () => {
        const timer = setTimeout(() => {
          logger.warn('shutdown: in-flight requests did not finish in time; closing connections');
          app.server.closeAllConnections();
        }, opts.shutdownTimeoutMs ?? 10_000);
        timer.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
        }
        await audit.flush?.();
        const errors: unknown[] = [];
        for (const fn of [...closers].reverse()) {
          try {
            await fn();
          } catch (err) {
            errors.push(err);
          }
        }
        if (errors.length > 0) throw errors[0];
      })();
      return closed;
    },
    onClose(fn) {
      closers.push(fn);
    },
    addHealthCheck(name, check) {
      checks.set(name, check);
    },
  };
  return service;
}
