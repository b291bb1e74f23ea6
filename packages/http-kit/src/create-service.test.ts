/* eslint-disable @typescript-eslint/no-explicit-any -- JSON response bodies are navigated dynamically in assertions. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { ConflictError } from '@photoncloud/errors';
import { createLogger } from '@photoncloud/log';
import { StoreError } from '@photoncloud/store';
import {
  checkPreconditions,
  createService,
  envelope,
  listEnvelope,
  listResponse,
  ok,
  pageQueryProperties,
  parsePage,
  responses,
  setETag,
} from './index.js';
import type { AuditEvent, Service } from './index.js';

/** Collects JSON log lines. */
function logSink() {
  const lines: Array<Record<string, unknown>> = [];
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
        buf = buf.slice(nl + 1);
      }
      cb();
    },
  });
  return { stream, lines };
}

const Vpc = Type.Object({ id: Type.String(), name: Type.String(), cidr_block: Type.String() });
const CreateVpc = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 63 }),
  cidr_block: Type.String({ format: 'ipv4-cidr', description: 'IPv4 CIDR, e.g. 10.0.0.0/16' }),
  org_id: Type.Optional(Type.String()),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  tier: Type.Optional(Type.Union([Type.Literal('gold'), Type.Literal('silver')])),
});

/** A small demo service with the kinds of routes real services have. */
async function demoService(
  extra: { logs?: ReturnType<typeof logSink>; events?: AuditEvent[] } = {},
): Promise<Service> {
  const events = extra.events ?? [];
  const svc = await createService({
    name: 'demo',
    version: '1.2.3',
    auth: { mode: 'local' },
    logger: createLogger({ service: 'demo', level: 'debug', destination: (extra.logs ?? logSink()).stream }),
    audit: { emit: (e) => events.push(e) },
    bodyLimit: 4096,
  });
  const all = Array.from({ length: 45 }, (_, i) => ({
    id: `vpc-${i}`,
    name: `net-${i}`,
    cidr_block: '10.0.0.0/16',
  }));
  let version = 7;
  svc.app.post(
    '/api/v1/vpcs',
    { schema: { summary: 'Create a VPC', body: CreateVpc, response: responses({ 201: envelope(Vpc) }) } },
    async (request, reply) => {
      if (request.body.name === 'taken') throw new ConflictError('VPC name already in use');
      reply.code(201);
      return ok(request, { id: 'vpc-new', name: request.body.name, cidr_block: request.body.cidr_block });
    },
  );
  svc.app.get(
    '/api/v1/vpcs',
    {
      schema: {
        summary: 'List VPCs',
        querystring: Type.Object({ ...pageQueryProperties() }),
        response: responses({ 200: listEnvelope('vpcs', Vpc) }),
      },
    },
    async (request, reply) => {
      const page = parsePage(request.query);
      return listResponse(request, reply, {
        key: 'vpcs',
        items: all.slice(page.offset, page.offset + page.limit),
        total: all.length,
        page,
      });
    },
  );
  svc.app.get(
    '/api/v1/vpcs/:id',
    { schema: { params: Type.Object({ id: Type.String() }), response: responses({ 200: envelope(Vpc) }) } },
    async (request, reply) => {
      setETag(reply, version);
      return ok(request, { id: request.params.id, name: 'x', cidr_block: '10.0.0.0/16' });
    },
  );
  svc.app.put(
    '/api/v1/vpcs/:id',
    { schema: { params: Type.Object({ id: Type.String() }), body: Type.Object({ name: Type.String() }) } },
    async (request, reply) => {
      checkPreconditions(request, version);
      version += 1;
      setETag(reply, version);
      return ok(request, { id: request.params.id, version });
    },
  );
  svc.app.get('/bug', async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'secret')");
  });
  svc.app.get('/store-down', async () => {
    throw new StoreError('noLeader');
  });
  svc.app.get('/compacted', async () => {
    throw new StoreError('compacted');
  });
  await svc.app.ready();
  return svc;
}

function json(body: string): Record<string, any> {
  return JSON.parse(body) as Record<string, any>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('createService: envelope, errors, validation', () => {
  let svc: Service;
  const logs = logSink();
  const events: AuditEvent[] = [];
  before(async () => {
    svc = await demoService({ logs, events });
  });
  after(async () => {
    await svc.close();
  });

  test('success envelope with request id and RFC 3339 UTC timestamp', async () => {
    const r = await svc.app.inject({
      method: 'POST',
      url: '/api/v1/vpcs',
      headers: JSON_HEADERS,
      payload: { name: 'prod', cidr_block: '10.0.0.0/16' },
    });
    assert.equal(r.statusCode, 201);
    const body = json(r.body);
    assert.equal(body.success, true);
    assert.deepEqual(body.data, { id: 'vpc-new', name: 'prod', cidr_block: '10.0.0.0/16' });
    assert.match(
      body.meta.request_id,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.equal(r.headers['x-request-id'], body.meta.request_id);
    assert.match(body.meta.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('a client X-Request-Id is echoed in the header, meta and the request log line', async () => {
    const r = await svc.app.inject({ url: '/api/v1/vpcs/vpc-1', headers: { 'x-request-id': 'req-12345' } });
    assert.equal(r.headers['x-request-id'], 'req-12345');
    assert.equal(json(r.body).meta.request_id, 'req-12345');
    const line = logs.lines.find((l) => l['request_id'] === 'req-12345' && l['msg'] === 'request completed');
    assert.ok(line, 'request log line');
    assert.equal(line['method'], 'GET');
    assert.equal(line['route'], '/api/v1/vpcs/:id');
    assert.equal(line['status_code'], 200);
    assert.equal(line['service'], 'demo');
    assert.equal(typeof line['duration_ms'], 'number');
  });

  test('an unsafe X-Request-Id is replaced by a fresh UUID', async () => {
    const r = await svc.app.inject({ url: '/api/v1/vpcs/vpc-1', headers: { 'x-request-id': 'a b<script>' } });
    assert.notEqual(r.headers['x-request-id'], 'a b<script>');
    assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('missing field → 400 VALIDATION_ERROR with the guide shape', async () => {
    const r = await svc.app.inject({
      method: 'POST',
      url: '/api/v1/vpcs',
      headers: JSON_HEADERS,
      payload: { name: 'invalid' },
    });
    assert.equal(r.statusCode, 400);
    const body = json(r.body);
    assert.equal(body.success, false);
    assert.equal(body.error.code, 'VALIDATION_ERROR');
    assert.equal(body.error.message, 'cidr_block is required');
    assert.equal(body.error.details.field, 'cidr_block');
    assert.equal(body.error.details.constraint, 'required');
    assert.equal(typeof body.meta.request_id, 'string');
  });

  test('each kind of field failure names its field and constraint', async () => {
    const cases: Array<[unknown, string, string]> = [
      [{ name: 5, cidr_block: '10.0.0.0/16' }, 'name', 'type'],
      [{ name: 'x'.repeat(64), cidr_block: '10.0.0.0/16' }, 'name', 'maxLength'],
      [{ name: '', cidr_block: '10.0.0.0/16' }, 'name', 'minLength'],
      [{ name: 'a', cidr_block: '10.0.0.0/99' }, 'cidr_block', 'format'],
      [{ name: 'a', cidr_block: '10.0.0.0/16', size: 11 }, 'size', 'maximum'],
      [{ name: 'a', cidr_block: '10.0.0.0/16', size: 1.5 }, 'size', 'type'],
      [{ name: 'a', cidr_block: '10.0.0.0/16', size: '3' }, 'size', 'type'],
      [{ name: 'a', cidr_block: '10.0.0.0/16', tier: 'bronze' }, 'tier', 'enum'],
      [[1, 2], 'body', 'type'],
      ['"just a string"', 'body', 'type'],
    ];
    for (const [payload, field, constraint] of cases) {
      const r = await svc.app.inject({
        method: 'POST',
        url: '/api/v1/vpcs',
        headers: JSON_HEADERS,
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      const err = json(r.body).error;
      assert.equal(err.code, 'VALIDATION_ERROR');
      assert.equal(err.details.field, field, JSON.stringify(payload));
      assert.equal(err.details.constraint, constraint, JSON.stringify(payload));
      assert.ok(err.message.length > 0);
    }
  });

  test('no body at all → 400 body required', async () => {
    const r = await svc.app.inject({ method: 'POST', url: '/api/v1/vpcs' });
    assert.equal(r.statusCode, 400);
    assert.deepEqual(
      { field: json(r.body).error.details.field, constraint: json(r.body).error.details.constraint },
      { field: 'body', constraint: 'required' },
    );
    const empty = await svc.app.inject({
      method: 'POST',
      url: '/api/v1/vpcs',
      headers: JSON_HEADERS,
      payload: '  ',
    });
    assert.equal(json(empty.body).error.details.constraint, 'required');
  });

  test('malformed JSON → 400 BAD_REQUEST; prototype poisoning is rejected too', async () => {
    for (const payload of [
      '{"name": ',
      '{name: 1}',
      '{"__proto__": {"admin": true}, "name": "a", "cidr_block": "10.0.0.0/8"}',
    ]) {
      const r = await svc.app.inject({ method: 'POST', url: '/api/v1/vpcs', headers: JSON_HEADERS, payload });
      assert.equal(r.statusCode, 400, payload);
      const body = json(r.body);
      assert.equal(body.success, false);
      assert.equal(body.error.code, 'BAD_REQUEST');
    }
  });

  test('unknown route → 404 envelope; known path with another method → 405 with Allow', async () => {
    const nf = await svc.app.inject({ url: '/api/v1/nothing-here' });
    assert.equal(nf.statusCode, 404);
    assert.equal(json(nf.body).error.code, 'NOT_FOUND');
    assert.equal(json(nf.body).success, false);
    const na = await svc.app.inject({ method: 'DELETE', url: '/api/v1/vpcs' });
    assert.equal(na.statusCode, 405);
    assert.equal(na.headers['allow'], 'GET, HEAD, POST');
    assert.equal(json(na.body).error.code, 'METHOD_NOT_ALLOWED');
    const na2 = await svc.app.inject({ method: 'PATCH', url: '/api/v1/vpcs/vpc-9' });
    assert.equal(na2.statusCode, 405);
    assert.equal(na2.headers['allow'], 'GET, HEAD, PUT');
  });

  test('body over the limit → 413; unsupported content type → 415', async () => {
    const big = await svc.app.inject({
      method: 'POST',
      url: '/api/v1/vpcs',
      headers: JSON_HEADERS,
      payload: JSON.stringify({ name: 'x'.repeat(5000), cidr_block: '10.0.0.0/8' }),
    });
    assert.equal(big.statusCode, 413);
    assert.equal(json(big.body).error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(json(big.body).error.details.limit, 4096);
    for (const ct of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
      const r = await svc.app.inject({
        method: 'POST',
        url: '/api/v1/vpcs',
        headers: { 'content-type': ct },
        payload: 'name=a',
      });
      assert.equal(r.statusCode, 415, ct);
      assert.equal(json(r.body).error.code, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  test('a bad percent-encoding in the URL → 400, not 500', async () => {
    const r = await svc.app.inject({ url: '/api/v1/vpcs/%E0%A4%A' });
    assert.equal(r.statusCode, 400);
    assert.equal(json(r.body).error.code, 'BAD_REQUEST');
  });

  test('ApiErrors thrown by handlers keep their status and code', async () => {
    const r = await svc.app.inject({
      method: 'POST',
      url: '/api/v1/vpcs',
      headers: JSON_HEADERS,
      payload: { name: 'taken', cidr_block: '10.0.0.0/16' },
    });
    assert.equal(r.statusCode, 409);
    assert.equal(json(r.body).error.code, 'CONFLICT');
  });

  test('store errors map to 503 (no leader) and 400 (compacted)', async () => {
    const down = await svc.app.inject({ url: '/store-down' });
    assert.equal(down.statusCode, 503);
    assert.equal(json(down.body).error.code, 'SERVICE_UNAVAILABLE');
    assert.equal(down.headers['retry-after'], '1');
    const compacted = await svc.app.inject({ url: '/compacted' });
    assert.equal(compacted.statusCode, 400);
    assert.equal(json(compacted.body).error.code, 'BAD_REQUEST');
  });

  test('a bug → 500 INTERNAL_ERROR, generic message, no stack; logged with its stack', async () => {
    const r = await svc.app.inject({ url: '/bug', headers: { 'x-request-id': 'bug-1' } });
    assert.equal(r.statusCode, 500);
    const body = json(r.body);
    assert.equal(body.error.code, 'INTERNAL_ERROR');
    assert.equal(body.error.message, 'Internal server error');
    assert.ok(!r.body.includes('secret'));
    assert.ok(!r.body.includes('TypeError'));
    assert.ok(!/at .*\.ts:\d+/.test(r.body));
    const logged = logs.lines.find((l) => l['request_id'] === 'bug-1' && l['level'] === 'error');
    assert.ok(logged, 'bug logged');
    assert.match(String((logged['err'] as Record<string, unknown>)['stack']), /TypeError/);
  });

  test('pagination: meta, X-Total-Count, Link next/prev, defaults', async () => {
    const r = await svc.app.inject({ url: '/api/v1/vpcs?limit=10&offset=20' });
    assert.equal(r.statusCode, 200);
    const body = json(r.body);
    assert.equal(body.data.vpcs.length, 10);
    assert.equal(body.data.vpcs[0].id, 'vpc-20');
    assert.equal(body.meta.total, 45);
    assert.equal(body.meta.limit, 10);
    assert.equal(body.meta.offset, 20);
    assert.equal(r.headers['x-total-count'], '45');
    assert.equal(
      r.headers['link'],
      '</api/v1/vpcs?limit=10&offset=30>; rel="next", </api/v1/vpcs?limit=10&offset=10>; rel="prev"',
    );
    const first = await svc.app.inject({ url: '/api/v1/vpcs' });
    assert.equal(json(first.body).meta.limit, 20);
    assert.equal(json(first.body).data.vpcs.length, 20);
    assert.equal(first.headers['link'], '</api/v1/vpcs?limit=20&offset=20>; rel="next"');
    const last = await svc.app.inject({ url: '/api/v1/vpcs?offset=40' });
    assert.equal(json(last.body).data.vpcs.length, 5);
    assert.equal(last.headers['link'], '</api/v1/vpcs?limit=20&offset=20>; rel="prev"');
  });

  test('pagination: bad limit/offset → 400 VALIDATION_ERROR', async () => {
    for (const [qs, field, constraint] of [
      ['limit=0', 'limit', 'minimum'],
      ['limit=101', 'limit', 'maximum'],
      ['limit=abc', 'limit', 'type'],
      ['limit=5.5', 'limit', 'type'],
      ['offset=-1', 'offset', 'minimum'],
    ] as const) {
      const r = await svc.app.inject({ url: `/api/v1/vpcs?${qs}` });
      assert.equal(r.statusCode, 400, qs);
      const err = json(r.body).error;
      assert.equal(err.code, 'VALIDATION_ERROR');
      assert.equal(err.details.field, field, qs);
      assert.equal(err.details.constraint, constraint, qs);
    }
  });

  test('ETag and If-Match: match → 200 and new ETag, mismatch → 412, * matches, malformed → 400', async () => {
    const get = await svc.app.inject({ url: '/api/v1/vpcs/vpc-1' });
    const etag = String(get.headers['etag']);
    assert.match(etag, /^"\d+"$/);
    const put = (ifMatch: string) =>
      svc.app.inject({
        method: 'PUT',
        url: '/api/v1/vpcs/vpc-1',
        headers: { ...JSON_HEADERS, 'if-match': ifMatch },
        payload: { name: 'n' },
      });
    const good = await put(etag);
    assert.equal(good.statusCode, 200);
    assert.notEqual(good.headers['etag'], etag);
    const stale = await put(etag);
    assert.equal(stale.statusCode, 412);
    assert.equal(json(stale.body).error.code, 'PRECONDITION_FAILED');
    assert.equal(json(stale.body).error.details.current_etag, good.headers['etag']);
    const weak = await put(`W/${String(good.headers['etag'])}`);
    assert.equal(weak.statusCode, 412, 'a weak tag never satisfies If-Match');
    const star = await put('*');
    assert.equal(star.statusCode, 200);
    const bare = await put(String(star.headers['etag']).replace(/"/g, ''));
    assert.equal(bare.statusCode, 200, 'a bare (unquoted) tag is accepted');
    const bad = await put('"unterminated');
    assert.equal(bad.statusCode, 400);
  });

  test('audit: one event per mutating request with principal, route, status, outcome', async () => {
    events.length = 0;
    await svc.app.inject({
      method: 'POST',
      url: '/api/v1/vpcs',
      headers: { ...JSON_HEADERS, 'x-request-id': 'audit-1' },
      payload: { name: 'a', cidr_block: '10.0.0.0/8' },
    });
    await svc.app.inject({
      method: 'PUT',
      url: '/api/v1/vpcs/vpc-77',
      headers: { ...JSON_HEADERS, 'if-match': '"0"' },
      payload: { name: 'n' },
    });
    await svc.app.inject({ url: '/api/v1/vpcs' });
    assert.equal(events.length, 2, 'GET is not audited');
    const [created, failed] = events as [AuditEvent, AuditEvent];
    assert.equal(created.service, 'demo');
    assert.equal(created.method, 'POST');
    assert.equal(created.route, '/api/v1/vpcs');
    assert.equal(created.status_code, 201);
    assert.equal(created.outcome, 'success');
    assert.equal(created.request_id, 'audit-1');
    assert.deepEqual(created.principal, { id: 'local-admin', kind: 'local' });
    assert.match(created.time, /Z$/);
    assert.equal(failed.status_code, 412);
    assert.equal(failed.outcome, 'failure');
    assert.equal(failed.resource_id, 'vpc-77');
    assert.ok(failed.id > created.id, 'ids sort by time');
  });

  test('openapi document lists the routes with their schemas and the envelope', async () => {
    const r = await svc.app.inject({ url: '/api/v1/openapi.json' });
    assert.equal(r.statusCode, 200);
    const doc = json(r.body);
    assert.match(doc.openapi, /^3\./);
    assert.equal(doc.info.version, '1.2.3');
    const create = doc.paths['/api/v1/vpcs'].post;
    assert.equal(create.summary, 'Create a VPC');
    const bodySchema = create.requestBody.content['application/json'].schema;
    assert.deepEqual(bodySchema.required, ['name', 'cidr_block']);
    assert.equal(bodySchema.properties.name.maxLength, 63);
    const ok201 = create.responses['201'].content['application/json'].schema;
    assert.deepEqual(ok201.required, ['success', 'data', 'meta']);
    assert.ok(ok201.properties.data.properties.cidr_block);
    assert.ok(create.responses['4XX'] ?? create.responses['4xx'], 'error envelope documented');
    const list = doc.paths['/api/v1/vpcs'].get;
    const limit = list.parameters.find((p: { name: string }) => p.name === 'limit');
    assert.equal(limit.in, 'query');
    assert.equal(limit.schema.maximum, 100);
    assert.ok(doc.paths['/api/v1/vpcs/{id}'].get, 'path params in OpenAPI form');
    assert.ok(doc.paths['/health'].get);
    assert.equal(doc.paths['/api/v1/openapi.json'], undefined);
    assert.ok(doc.components.securitySchemes.bearerAuth);
  });

  test('metrics: Prometheus text with request counters, durations and process metrics', async () => {
    await svc.app.inject({ url: '/api/v1/vpcs/vpc-5' });
    const r = await svc.app.inject({ url: '/metrics' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.match(
      r.body,
      /^http_requests_total\{method="GET",route="\/api\/v1\/vpcs\/:id",status_code="200"\} \d+$/m,
    );
    assert.match(r.body, /^http_request_duration_seconds_bucket\{.*route="\/api\/v1\/vpcs\/:id".*\} \d+$/m);
    assert.match(r.body, /^http_requests_total\{method="GET",route="unmatched",status_code="404"\} \d+$/m);
    assert.match(r.body, /^process_cpu_seconds_total /m);
  });

  test('health: healthy with service, version, uptime and checks', async () => {
    const r = await svc.app.inject({ url: '/health' });
    assert.equal(r.statusCode, 200);
    const body = json(r.body);
    assert.equal(body.data.status, 'healthy');
    assert.equal(body.data.service, 'demo');
    assert.equal(body.data.version, '1.2.3');
    assert.equal(typeof body.data.uptime_seconds, 'number');
    assert.deepEqual(body.data.checks, {});
  });
});

describe('createService: health checks, metrics isolation, shutdown', () => {
  test('a failing check → 503 with status unhealthy and the reason', async () => {
    let healthy = true;
    const svc = await createService({
      name: 'h',
      version: '0',
      auth: {
        mode: 'required',
        verifyToken: async () => Promise.reject(new Error('no tokens in this test')),
      },
      logger: createLogger({ service: 'h', level: 'silent' }),
      health: {
        checks: { disk: async () => (healthy ? undefined : Promise.reject(new Error('disk full'))) },
      },
    });
    try {
      const good = await svc.app.inject({ url: '/health' });
      assert.equal(good.statusCode, 200, 'public in required mode');
      assert.deepEqual(json(good.body).data.checks, { disk: { status: 'healthy' } });
      healthy = false;
      const bad = await svc.app.inject({ url: '/health' });
      assert.equal(bad.statusCode, 503);
      const body = json(bad.body);
      assert.equal(body.success, false);
      assert.equal(body.data.status, 'unhealthy');
      assert.deepEqual(body.data.checks.disk, { status: 'unhealthy', error: 'disk full' });
      assert.equal(body.error.code, 'SERVICE_UNAVAILABLE');
    } finally {
      await svc.close();
    }
  });

  test('required mode without a verifier is refused at startup', async () => {
    await assert.rejects(
      createService({
        name: 'r',
        version: '0',
        auth: { mode: 'required' },
        logger: createLogger({ service: 'r', level: 'silent' }),
      }),
      /verifyToken/,
    );
  });

  test('two services in one process keep separate metric registries', async () => {
    const mk = (name: string) =>
      createService({
        name,
        version: '0',
        auth: { mode: 'local' },
        logger: createLogger({ service: name, level: 'silent' }),
      });
    const a = await mk('a');
    const b = await mk('b');
    try {
      a.app.get('/only-a', async (request) => ok(request, {}));
      await a.app.ready();
      await b.app.ready();
      await a.app.inject({ url: '/only-a' });
      const ma = await a.app.inject({ url: '/metrics' });
      const mb = await b.app.inject({ url: '/metrics' });
      assert.match(ma.body, /route="\/only-a"/);
      assert.doesNotMatch(mb.body, /route="\/only-a"/);
      assert.notEqual(a.metrics, b.metrics);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('close() drains an in-flight request, refuses new ones, then runs onClose callbacks', async () => {
    const svc = await createService({
      name: 's',
      version: '0',
      auth: { mode: 'local' },
      logger: createLogger({ service: 's', level: 'silent' }),
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    svc.app.get('/slow', async (request) => {
      entered();
      await gate;
      return ok(request, { done: true });
    });
    const order: string[] = [];
    svc.onClose(() => {
      order.push('resource closed');
    });
    const { url } = await svc.listen();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const inflight = fetch(`${url}/slow`).then(async (r) => {
      order.push('response');
      return { status: r.status, body: (await r.json()) as Record<string, any> };
    });
    await inHandler;
    const closing = svc.close().then(() => order.push('closed'));
    assert.strictEqual(svc.close(), svc.close(), 'close is idempotent');
    // New connections are refused once the listener is closed.
    await assert.rejects(fetch(`${url}/health`));
    release();
    const res = await inflight;
    await closing;
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, { done: true });
    assert.deepEqual(order, ['response', 'resource closed', 'closed']);
  });
});
