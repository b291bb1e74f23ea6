import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type } from '@sinclair/typebox';
import { NotFoundError } from '@photoncloud/errors';
import { createLogger } from '@photoncloud/log';
import { checkPreconditions, createService, listResponse, ok, parsePage, setETag } from '../index.js';
import type { Service } from '../index.js';
import { ApiClient, ApiClientError } from './index.js';

describe('ApiClient against a real service on loopback', () => {
  let svc: Service;
  let client: ApiClient;
  const seen: Array<Record<string, string | undefined>> = [];
  const items = Array.from({ length: 23 }, (_, i) => ({ id: `it-${String(i).padStart(2, '0')}` }));

  before(async () => {
    svc = await createService({
      name: 'c',
      version: '0',
      auth: { mode: 'local' },
      logger: createLogger({ service: 'c', level: 'silent' }),
    });
    svc.app.addHook('onRequest', async (request) => {
      seen.push({
        authorization: request.headers.authorization,
        'idempotency-key': request.headers['idempotency-key'] as string | undefined,
        'if-match': request.headers['if-match'],
        'x-extra': request.headers['x-extra'] as string | undefined,
      });
    });
    svc.app.get('/api/v1/items', async (request, reply) => {
      const page = parsePage(request.query);
      return listResponse(request, reply, {
        key: 'items',
        items: items.slice(page.offset, page.offset + page.limit),
        total: items.length,
        page,
      });
    });
    svc.app.get(
      '/api/v1/items/:id',
      { schema: { params: Type.Object({ id: Type.String() }) } },
      async (request, reply) => {
        if (request.params.id === 'missing') throw new NotFoundError('item', 'missing');
        setETag(reply, 3);
        return ok(request, { id: request.params.id });
      },
    );
    svc.app.post(
      '/api/v1/items',
      { schema: { body: Type.Object({ name: Type.String() }) } },
      async (request, reply) => {
        reply.code(201);
        return ok(request, { id: 'it-new', name: request.body.name });
      },
    );
    svc.app.put('/api/v1/items/:id', async (request) => {
      checkPreconditions(request, 3);
      return ok(request, { updated: true });
    });
    svc.app.delete('/api/v1/items/:id', async (request) => ok(request, { deleted: 1 }));
    const { url } = await svc.listen();
    client = new ApiClient({ baseUrl: `${url}/`, token: undefined, headers: { 'x-extra': 'yes' } });
  });
  after(async () => {
    await svc.close();
  });

  test('get/post/put/delete return data', async () => {
    assert.deepEqual(await client.get('/api/v1/items/it-01'), { id: 'it-01' });
    assert.deepEqual(await client.post('/api/v1/items', { name: 'n' }, { idempotencyKey: 'k-1' }), {
      id: 'it-new',
      name: 'n',
    });
    assert.deepEqual(await client.put('/api/v1/items/it-01', {}, { ifMatch: 3 }), { updated: true });
    assert.deepEqual(await client.delete('/api/v1/items/it-01'), { deleted: 1 });
    const post = seen.find((s) => s['idempotency-key'] === 'k-1');
    assert.ok(post);
    assert.equal(post['x-extra'], 'yes');
    assert.ok(
      seen.some((s) => s['if-match'] === '"3"'),
      'bare ETag values are quoted',
    );
  });

  test('request() exposes status, headers and meta', async () => {
    const r = await client.request<{ id: string }>('GET', '/api/v1/items/it-02');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('etag'), '"3"');
    assert.equal(typeof r.meta.request_id, 'string');
  });

  test('error envelopes become ApiClientError with status, code, details and request id', async () => {
    await assert.rejects(
      client.get('/api/v1/items/missing', { headers: { 'x-request-id': 'rid-77' } }),
      (err: unknown) => {
        assert.ok(err instanceof ApiClientError);
        assert.equal(err.status, 404);
        assert.equal(err.code, 'NOT_FOUND');
        assert.deepEqual(err.details, { resource: 'item', id: 'missing' });
        assert.equal(err.requestId, 'rid-77');
        return true;
      },
    );
    await assert.rejects(client.post('/api/v1/items', { name: 5 }), (err: unknown) => {
      assert.ok(err instanceof ApiClientError);
      assert.equal(err.code, 'VALIDATION_ERROR');
      assert.equal(err.details?.['field'], 'name');
      return true;
    });
    await assert.rejects(
      client.put('/api/v1/items/x', {}, { ifMatch: 2 }),
      (err: unknown) => err instanceof ApiClientError && err.status === 412,
    );
  });

  test('paginate walks every page', async () => {
    const got: string[] = [];
    for await (const it of client.paginate<{ id: string }>('/api/v1/items', 'items', { pageSize: 5 }))
      got.push(it.id);
    assert.deepEqual(
      got,
      items.map((i) => i.id),
    );
  });

  test('query values: arrays repeat, undefined is omitted', () => {
    assert.equal(
      client.url('/api/v1/x', { a: ['1', 2], b: undefined, c: true, d: 'a b' }),
      `${client.baseUrl}/api/v1/x?a=1&a=2&c=true&d=a+b`,
    );
  });

  test('connection failures → ApiClientError status 0 NETWORK_ERROR', async () => {
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const port = (tmp.address() as AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    const dead = new ApiClient({ baseUrl: `http://127.0.0.1:${port}` });
    await assert.rejects(
      dead.get('/x'),
      (err: unknown) => err instanceof ApiClientError && err.status === 0 && err.code === 'NETWORK_ERROR',
    );
  });

  test('non-envelope responses are reported, not misread', async () => {
    const plain = createServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const c = new ApiClient({ baseUrl: `http://127.0.0.1:${(plain.address() as AddressInfo).port}` });
      await assert.rejects(
        c.get('/x'),
        (err: unknown) => err instanceof ApiClientError && err.status === 502 && err.code === 'HTTP_502',
      );
    } finally {
      await new Promise<void>((r) => plain.close(() => r()));
    }
  });

  test('the token is sent as a bearer header', async () => {
    const echo = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          success: true,
          data: { authorization: req.headers.authorization ?? null },
          meta: {},
        }),
      );
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    try {
      const authed = new ApiClient({
        baseUrl: `http://127.0.0.1:${(echo.address() as AddressInfo).port}`,
        token: 'abc.def.ghi',
      });
      assert.deepEqual(await authed.get('/x'), { authorization: 'Bearer abc.def.ghi' });
    } finally {
      await new Promise<void>((r) => echo.close(() => r()));
    }
  });
});
