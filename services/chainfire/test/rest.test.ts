/* eslint-disable @typescript-eslint/no-explicit-any -- JSON response bodies are navigated dynamically in assertions. */
/**
 * ChainFire's REST API over real HTTP on loopback, backed by a real store: the guide's curl examples
 * as requests, both route forms, conditional writes, leases, pagination, bad input, and the typed
 * client. Runs against ChainFire's own engine and against etcd 3.4 through EtcdStore.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@photoncloud/log';
import { createService } from '@photoncloud/http-kit';
import type { Service } from '@photoncloud/http-kit';
import { EtcdStore, bytes } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';
import { startEtcd, tempDir } from '@photoncloud/test-utils';
import { ChainFireClient, MAX_KEY_BYTES, MAX_VALUE_BYTES } from '@photoncloud/chainfire-api';
import { ApiClientError } from '@photoncloud/http-kit/client';
import { openChainFire } from '../src/engine.js';
import { registerChainFireRoutes } from '../src/routes/index.js';

/** A store to serve, plus how to release it. */
interface Backend {
  store: Store;
  close(): Promise<void>;
}

async function etcdBackend(): Promise<Backend> {
  const etcd = await startEtcd();
  const store = new EtcdStore({ endpoints: [etcd.endpoint] });
  return {
    store,
    close: async () => {
      await store.close();
      await etcd.stop();
    },
  };
}

/** ChainFire's own engine in a temp data dir; the routes pick up its `clusterStatus()` by themselves. */
async function engineBackend(): Promise<Backend> {
  const dir = await tempDir('chainfire-rest-');
  const store = await openChainFire({ dataDir: dir.path });
  return {
    store,
    close: async () => {
      await store.close();
      await dir.cleanup();
    },
  };
}

const backends: Array<[string, () => Promise<Backend>]> = [
  ['ChainFire engine', engineBackend],
  ['etcd 3.4 via EtcdStore', etcdBackend],
];

type Json = Record<string, any>;

for (const [backendName, openBackend] of backends) {
  describe(`ChainFire REST on ${backendName}`, () => {
    let backend: Backend;
    let svc: Service;
    let base: string;

    before(async () => {
      backend = await openBackend();
      svc = await createService({
        name: 'chainfire',
        version: '0.1.0',
        auth: { mode: 'local' },
        store: backend.store,
        logger: createLogger({ service: 'chainfire', level: 'silent' }),
      });
      registerChainFireRoutes(svc.app, { store: backend.store });
      ({ url: base } = await svc.listen());
    });
    after(async () => {
      await svc?.close();
      await backend?.close();
    });

    /** A curl-like request: returns status, headers and the parsed JSON body. */
    async function http(
      method: string,
      path: string,
      opts: { json?: string; headers?: Record<string, string> } = {},
    ) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(opts.json === undefined ? {} : { 'content-type': 'application/json' }),
          ...opts.headers,
        },
        ...(opts.json === undefined ? {} : { body: opts.json }),
      });
      const textBody = await res.text();
      let body: Json = {};
      try {
        body = JSON.parse(textBody) as Json;
      } catch {
        assert.fail(`${method} ${path}: response is not JSON: ${textBody.slice(0, 200)}`);
      }
      assert.ok(res.status < 500, `${method} ${path} → ${res.status}: ${textBody.slice(0, 300)}`);
      return { status: res.status, headers: res.headers, body };
    }

    function assertError(r: { status: number; body: Json }, status: number, code: string): Json {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.success, false);
      assert.equal(r.body.error.code, code);
      assert.equal(typeof r.body.error.message, 'string');
      assert.ok('details' in r.body.error);
      assert.equal(typeof r.body.meta.request_id, 'string');
      assert.match(r.body.meta.timestamp, /Z$/);
      return r.body.error as Json;
    }

    test('guide: put, get, delete user:123 (POST forms, verbatim)', async () => {
      const value = '{"name":"alice","email":"alice@example.com"}';
      // curl -X POST http://localhost:8081/api/v1/kv/user:123/put -H "Content-Type: application/json" \
      //   -d '{"value": "{\"name\":\"alice\",\"email\":\"alice@example.com\"}"}'
      const put = await http('POST', '/api/v1/kv/user:123/put', {
        json: '{"value": "{\\"name\\":\\"alice\\",\\"email\\":\\"alice@example.com\\"}"}',
      });
      assert.equal(put.status, 200);
      assert.equal(put.body.success, true);
      assert.equal(put.body.data.key, 'user:123');
      assert.equal(typeof put.body.data.revision, 'number');
      assert.equal(put.headers.get('etag'), `"${put.body.data.revision}"`);

      // curl http://localhost:8081/api/v1/kv/user:123
      const get = await http('GET', '/api/v1/kv/user:123');
      assert.equal(get.status, 200);
      assert.equal(get.body.data.key, 'user:123');
      assert.equal(get.body.data.value, value);
      assert.equal(get.body.data.mod_revision, put.body.data.revision);
      assert.equal(get.body.data.create_revision, put.body.data.revision);
      assert.equal(get.body.data.version, 1);
      assert.equal(get.body.data.lease, '0');
      assert.equal(get.headers.get('etag'), `"${put.body.data.revision}"`);
      assert.equal(typeof get.body.meta.request_id, 'string');

      // curl -X POST http://localhost:8081/api/v1/kv/user:123/delete
      const del = await http('POST', '/api/v1/kv/user:123/delete');
      assert.equal(del.status, 200);
      assert.deepEqual(
        { key: del.body.data.key, deleted: del.body.data.deleted },
        { key: 'user:123', deleted: 1 },
      );
      assertError(await http('GET', '/api/v1/kv/user:123'), 404, 'NOT_FOUND');
      const again = await http('POST', '/api/v1/kv/user:123/delete');
      const err = assertError(again, 404, 'NOT_FOUND');
      assert.deepEqual(err.details, { resource: 'key', id: 'user:123' });
    });

    test('guide: request-format example (mykey) and the PUT/DELETE forms', async () => {
      const r = await http('POST', '/api/v1/kv/mykey/put', { json: '{"value": "myvalue"}' });
      assert.equal(r.status, 200);
      const put = await http('PUT', '/api/v1/kv/mykey', { json: '{"value": "hello world"}' });
      assert.equal(put.status, 200);
      const get = await http('GET', '/api/v1/kv/mykey');
      assert.equal(get.body.data.value, 'hello world');
      assert.equal(get.body.data.version, 2);
      const del = await http('DELETE', '/api/v1/kv/mykey');
      assert.equal(del.status, 200);
      assert.equal(del.body.data.deleted, 1);
      assertError(await http('DELETE', '/api/v1/kv/mykey'), 404, 'NOT_FOUND');
    });

    test('guide: prefix scan user: returns items with values', async () => {
      await http('PUT', '/api/v1/kv/user:123', { json: '{"value":"{\\"name\\":\\"alice\\"}"}' });
      await http('PUT', '/api/v1/kv/user:456', { json: '{"value":"{\\"name\\":\\"bob\\"}"}' });
      await http('PUT', '/api/v1/kv/users-other', { json: '{"value":"x"}' });
      // curl "http://localhost:8081/api/v1/kv?prefix=user:"
      const r = await http('GET', '/api/v1/kv?prefix=user:');
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.body.data.items.map((i: Json) => [i.key, i.value]),
        [
          ['user:123', '{"name":"alice"}'],
          ['user:456', '{"name":"bob"}'],
        ],
      );
      assert.equal(r.body.meta.total, 2);
      assert.equal(r.headers.get('x-total-count'), '2');
      for (const i of r.body.data.items as Json[]) {
        for (const f of ['create_revision', 'mod_revision', 'version']) assert.equal(typeof i[f], 'number');
      }
    });

    test('guide: cluster status and health', async () => {
      const r = await http('GET', '/api/v1/cluster/status');
      assert.equal(r.status, 200);
      const d = r.body.data;
      assert.ok(typeof d.node_id === 'number' || /^\d+$/.test(d.node_id));
      assert.equal(typeof d.cluster_id, 'string');
      assert.equal(typeof d.term, 'number');
      assert.ok(d.term >= 1);
      assert.equal(d.role, 'leader');
      assert.equal(d.is_leader, true);
      assert.equal(d.leader_id, d.node_id);
      assert.equal(typeof d.applied_index, 'number');
      assert.equal(typeof d.revision, 'number');
      assert.equal(d.members.length, 1);
      assert.equal(d.members[0].id, d.node_id);
      assert.match(d.member_id, /^\d+$/);
      assert.equal(d.members[0].member_id, d.member_id);
      assert.equal(typeof d.commit_index, 'number');
      if (backendName === 'ChainFire engine') assert.equal(d.node_id, 1, "the guide's small node id");
      const h = await http('GET', '/health');
      assert.equal(h.status, 200);
      assert.equal(h.body.data.status, 'healthy');
      assert.equal(h.body.data.service, 'chainfire');
    });

    test('keys with "/" and ":"; percent-encoded keys; keys that look like actions', async () => {
      const cases: Array<[string, string]> = [
        ['config/db/host', '/api/v1/kv/config/db/host'],
        ['/photoncloud/x/y', '/api/v1/kv//photoncloud/x/y'],
        ['a b/c?d#e%f', `/api/v1/kv/${encodeURIComponent('a b/c?d#e%f')}`],
        ['ключ/値', `/api/v1/kv/${encodeURIComponent('ключ/値')}`],
        ['x/put', '/api/v1/kv/x/put'],
      ];
      for (const [key, path] of cases) {
        const put = await http('PUT', path, { json: JSON.stringify({ value: `v:${key}` }) });
        assert.equal(put.status, 200, key);
        assert.equal(put.body.data.key, key);
        const get = await http('GET', path);
        assert.equal(get.body.data.key, key);
        assert.equal(get.body.data.value, `v:${key}`);
      }
      // POST forms: the last segment is the action.
      const p = await http('POST', '/api/v1/kv/config/db/port/put', { json: '{"value":"5432"}' });
      assert.equal(p.body.data.key, 'config/db/port');
      const ap = await http('POST', '/api/v1/kv/x/put/put', { json: '{"value":"again"}' });
      assert.equal(ap.body.data.key, 'x/put');
      assert.equal((await http('GET', '/api/v1/kv/x%2Fput')).body.data.value, 'again');
      const enc = await http('POST', `/api/v1/kv/${encodeURIComponent('config/db/port')}/delete`);
      assert.equal(enc.body.data.key, 'config/db/port');
      assert.equal(enc.body.data.deleted, 1);
      const list = await http('GET', '/api/v1/kv?prefix=config/');
      assert.deepEqual(
        list.body.data.items.map((i: Json) => i.key),
        ['config/db/host'],
      );
    });

    test('If-Match / If-None-Match make writes and deletes conditional', async () => {
      const first = await http('PUT', '/api/v1/kv/cas', {
        json: '{"value":"1"}',
        headers: { 'if-none-match': '*' },
      });
      assert.equal(first.status, 200, 'create-only succeeds when absent');
      const dup = await http('PUT', '/api/v1/kv/cas', {
        json: '{"value":"x"}',
        headers: { 'if-none-match': '*' },
      });
      assertError(dup, 412, 'PRECONDITION_FAILED');
      const etag = String(first.headers.get('etag'));
      const good = await http('POST', '/api/v1/kv/cas/put', {
        json: '{"value":"2"}',
        headers: { 'if-match': etag },
      });
      assert.equal(good.status, 200);
      const stale = await http('PUT', '/api/v1/kv/cas', {
        json: '{"value":"3"}',
        headers: { 'if-match': etag },
      });
      assertError(stale, 412, 'PRECONDITION_FAILED');
      assert.equal((await http('GET', '/api/v1/kv/cas')).body.data.value, '2');
      assertError(
        await http('DELETE', '/api/v1/kv/cas', { headers: { 'if-match': etag } }),
        412,
        'PRECONDITION_FAILED',
      );
      const del = await http('DELETE', '/api/v1/kv/cas', {
        headers: { 'if-match': String(good.headers.get('etag')) },
      });
      assert.equal(del.status, 200);
      assertError(
        await http('PUT', '/api/v1/kv/cas', { json: '{"value":"4"}', headers: { 'if-match': '*' } }),
        412,
        'PRECONDITION_FAILED',
      );
      assertError(
        await http('PUT', '/api/v1/kv/cas', { json: '{"value":"4"}', headers: { 'if-match': '"never' } }),
        400,
        'BAD_REQUEST',
      );
    });

    test('leases: attach, show, unknown → 404, malformed → 400', async () => {
      const lease = await backend.store.leaseGrant(60);
      const hex = `0x${BigInt(lease.id).toString(16)}`;
      const put = await http('PUT', '/api/v1/kv/leased', {
        json: JSON.stringify({ value: 'v', lease: hex }),
      });
      assert.equal(put.status, 200);
      assert.equal((await http('GET', '/api/v1/kv/leased')).body.data.lease, lease.id);
      const missing = await http('PUT', '/api/v1/kv/leased2', { json: '{"value":"v","lease":"12345"}' });
      const err = assertError(missing, 404, 'NOT_FOUND');
      assert.equal(err.details.resource, 'lease');
      for (const bad of ['"abc"', '"-1"', '5', '"99999999999999999999"']) {
        const r = await http('PUT', '/api/v1/kv/leased3', { json: `{"value":"v","lease":${bad}}` });
        const e = assertError(r, 400, 'VALIDATION_ERROR');
        assert.equal(e.details.field, 'lease', bad);
      }
      await backend.store.leaseRevoke(lease.id);
      assertError(await http('GET', '/api/v1/kv/leased'), 404, 'NOT_FOUND');
    });

    test('pagination over a prefix: meta, X-Total-Count, Link, one snapshot', async () => {
      for (let i = 0; i < 25; i++) {
        await backend.store.put({
          key: bytes(`page/${String(i).padStart(2, '0')}`),
          value: bytes(String(i)),
        });
      }
      const p2 = await http('GET', '/api/v1/kv?prefix=page/&limit=10&offset=10');
      assert.deepEqual(
        p2.body.data.items.map((i: Json) => i.key),
        Array.from({ length: 10 }, (_, i) => `page/${String(i + 10)}`),
      );
      assert.deepEqual([p2.body.meta.total, p2.body.meta.limit, p2.body.meta.offset], [25, 10, 10]);
      assert.equal(p2.headers.get('x-total-count'), '25');
      assert.equal(
        p2.headers.get('link'),
        '</api/v1/kv?prefix=page%2F&limit=10&offset=20>; rel="next", </api/v1/kv?prefix=page%2F&limit=10&offset=0>; rel="prev"',
      );
      const last = await http('GET', '/api/v1/kv?prefix=page/&limit=10&offset=20');
      assert.equal(last.body.data.items.length, 5);
      const beyond = await http('GET', '/api/v1/kv?prefix=page/&offset=100');
      assert.deepEqual(beyond.body.data.items, []);
      assert.equal(beyond.body.meta.total, 25);
      const first = await http('GET', '/api/v1/kv?prefix=page/');
      assert.equal(first.body.data.items.length, 20, 'default limit 20');
      const all = await http('GET', '/api/v1/kv?limit=100');
      assert.ok(all.body.meta.total >= 25, 'no prefix → all keys');
      assert.ok(all.body.data.items.some((i: Json) => i.key === 'page/00'));
      const empty = await http('GET', '/api/v1/kv?prefix=');
      assert.equal(empty.body.meta.total, all.body.meta.total);
      for (const qs of ['limit=0', 'limit=101', 'limit=x', 'offset=-1']) {
        assertError(await http('GET', `/api/v1/kv?prefix=page/&${qs}`), 400, 'VALIDATION_ERROR');
      }
    });

    test('bad input → the documented envelope, never 500', async () => {
      const invalidJson = await http('POST', '/api/v1/kv/bad/put', { json: '{"value": ' });
      assertError(invalidJson, 400, 'BAD_REQUEST');
      const missing = assertError(
        await http('PUT', '/api/v1/kv/bad', { json: '{"val": "x"}' }),
        400,
        'VALIDATION_ERROR',
      );
      assert.deepEqual([missing.details.field, missing.details.constraint], ['value', 'required']);
      assert.equal(missing.message, 'value is required');
      const missingPost = assertError(
        await http('POST', '/api/v1/kv/bad/put', { json: '{}' }),
        400,
        'VALIDATION_ERROR',
      );
      assert.equal(missingPost.details.field, 'value');
      const noBody = assertError(await http('POST', '/api/v1/kv/a/b/put'), 400, 'VALIDATION_ERROR');
      assert.equal(noBody.details.field, 'body');
      for (const v of ['123', 'null', '{"a":1}', '["x"]', 'true']) {
        const e = assertError(
          await http('PUT', '/api/v1/kv/bad', { json: `{"value": ${v}}` }),
          400,
          'VALIDATION_ERROR',
        );
        assert.deepEqual([e.details.field, e.details.constraint], ['value', 'type'], v);
      }
      const bodyArray = assertError(
        await http('PUT', '/api/v1/kv/bad', { json: '["value"]' }),
        400,
        'VALIDATION_ERROR',
      );
      assert.equal(bodyArray.details.field, 'body');
      const longKey = 'k'.repeat(MAX_KEY_BYTES + 1);
      const kErr = assertError(
        await http('PUT', `/api/v1/kv/${longKey}`, { json: '{"value":"x"}' }),
        400,
        'VALIDATION_ERROR',
      );
      assert.deepEqual([kErr.details.field, kErr.details.constraint], ['key', 'maxLength']);
      assertError(await http('GET', `/api/v1/kv/${'é'.repeat(513)}`), 400, 'VALIDATION_ERROR');
      assert.equal(
        (await http('PUT', `/api/v1/kv/${'k'.repeat(MAX_KEY_BYTES)}`, { json: '{"value":"x"}' })).status,
        200,
        'longest key',
      );
      assertError(
        await http('GET', `/api/v1/kv?prefix=${'p'.repeat(MAX_KEY_BYTES + 1)}`),
        400,
        'VALIDATION_ERROR',
      );
      assertError(await http('GET', '/api/v1/kv/'), 400, 'VALIDATION_ERROR');
      assertError(await http('GET', '/api/v1/kv/%E0%A4%A'), 400, 'BAD_REQUEST');
      assertError(
        await http('PUT', '/api/v1/kv/bad', {
          json: '{"value":"x"}',
          headers: { 'content-type': 'text/plain' },
        }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      assertError(await http('GET', '/api/v1/nope'), 404, 'NOT_FOUND');
      assertError(await http('GET', '/api/v1/kv/a/b/c/d/e/f/g/h/nothing-here'), 404, 'NOT_FOUND');
      const wrong = await http('PATCH', '/api/v1/kv/some-key', { json: '{"value":"x"}' });
      assertError(wrong, 405, 'METHOD_NOT_ALLOWED');
      assert.match(String(wrong.headers.get('allow')), /GET/);
      const noAction = await http('POST', '/api/v1/kv/some-key', { json: '{"value":"x"}' });
      assertError(noAction, 405, 'METHOD_NOT_ALLOWED');
      assert.equal(noAction.headers.get('allow'), 'DELETE, GET, HEAD, PUT');
      assertError(await http('POST', '/api/v1/kv/a/b/frobnicate'), 405, 'METHOD_NOT_ALLOWED');
      assertError(await http('DELETE', '/api/v1/cluster/status'), 405, 'METHOD_NOT_ALLOWED');
    });

    test('value size: exactly the limit is stored; one byte more → 413', async () => {
      const atLimit = 'v'.repeat(MAX_VALUE_BYTES);
      const ok = await http('PUT', '/api/v1/kv/big', { json: JSON.stringify({ value: atLimit }) });
      assert.equal(ok.status, 200);
      const got = await http('GET', '/api/v1/kv/big');
      assert.equal(got.body.data.value.length, MAX_VALUE_BYTES);
      const over = await http('POST', '/api/v1/kv/big/put', {
        json: JSON.stringify({ value: `${atLimit}v` }),
      });
      const e = assertError(over, 413, 'PAYLOAD_TOO_LARGE');
      assert.equal(e.details.limit, MAX_VALUE_BYTES);
      // Multi-byte characters count in bytes, not characters.
      const wide = await http('PUT', '/api/v1/kv/big', {
        json: JSON.stringify({ value: 'é'.repeat(MAX_VALUE_BYTES / 2 + 1) }),
      });
      assertError(wide, 413, 'PAYLOAD_TOO_LARGE');
      const huge = await http('PUT', '/api/v1/kv/big', {
        json: JSON.stringify({ value: 'x'.repeat(MAX_VALUE_BYTES * 7) }),
      });
      assertError(huge, 413, 'PAYLOAD_TOO_LARGE');
      await http('DELETE', '/api/v1/kv/big');
    });

    test('Idempotency-Key on the POST form replays the first result', async () => {
      const a = await http('POST', '/api/v1/kv/idem/put', {
        json: '{"value":"1"}',
        headers: { 'idempotency-key': 'cf-1' },
      });
      const b = await http('POST', '/api/v1/kv/idem/put', {
        json: '{"value":"1"}',
        headers: { 'idempotency-key': 'cf-1' },
      });
      assert.equal(b.headers.get('idempotent-replayed'), 'true');
      assert.equal(b.body.data.revision, a.body.data.revision);
      assert.equal((await http('GET', '/api/v1/kv/idem')).body.data.version, 1);
      assertError(
        await http('POST', '/api/v1/kv/idem/put', {
          json: '{"value":"2"}',
          headers: { 'idempotency-key': 'cf-1' },
        }),
        422,
        'IDEMPOTENCY_KEY_REUSED',
      );
    });

    test('OpenAPI documents the routes, both forms, and the limits', async () => {
      const r = await http('GET', '/api/v1/openapi.json');
      const paths = r.body.paths as Json;
      assert.ok(paths['/api/v1/kv/{key}'].get);
      assert.ok(paths['/api/v1/kv/{key}'].put);
      assert.ok(paths['/api/v1/kv/{key}'].delete);
      assert.ok(paths['/api/v1/kv/{key}/put'].post);
      assert.ok(paths['/api/v1/kv/{key}/delete'].post);
      assert.ok(paths['/api/v1/kv'].get);
      assert.ok(paths['/api/v1/cluster/status'].get);
      assert.equal(paths['/api/v1/kv/*'], undefined, 'wildcard helpers are hidden');
      const put = paths['/api/v1/kv/{key}'].put;
      assert.match(put.description, new RegExp(String(MAX_VALUE_BYTES)));
      assert.deepEqual(put.requestBody.content['application/json'].schema.required, ['value']);
      const keyParam = put.parameters.find((p: Json) => p.name === 'key');
      assert.match(keyParam.description, /1024 bytes/);
      const item =
        paths['/api/v1/kv/{key}'].get.responses['200'].content['application/json'].schema.properties.data;
      assert.deepEqual(Object.keys(item.properties).sort(), [
        'create_revision',
        'key',
        'lease',
        'mod_revision',
        'value',
        'version',
      ]);
    });

    describe('ChainFireClient', () => {
      let client: ChainFireClient;
      before(() => {
        client = new ChainFireClient({ baseUrl: base });
      });

      test('put/get/delete with awkward keys, both forms', async () => {
        const key = 'client/a b:c/%';
        const w = await client.put(key, 'v1');
        assert.equal(w.key, key);
        const got = await client.get(key);
        assert.equal(got?.value, 'v1');
        assert.equal(got?.mod_revision, w.revision);
        await client.put(key, 'v2', { method: 'POST', ifMatch: w.revision });
        assert.equal((await client.get(key))?.value, 'v2');
        await assert.rejects(
          client.put(key, 'v3', { ifMatch: w.revision }),
          (e: unknown) => e instanceof ApiClientError && e.status === 412,
        );
        await assert.rejects(
          client.put(key, 'v3', { ifNoneMatch: '*' }),
          (e: unknown) => e instanceof ApiClientError && e.code === 'PRECONDITION_FAILED',
        );
        const d = await client.delete(key, { method: 'POST' });
        assert.equal(d.deleted, 1);
        assert.equal(await client.get(key), undefined);
        await assert.rejects(
          client.delete(key),
          (e: unknown) => e instanceof ApiClientError && e.code === 'NOT_FOUND',
        );
        await assert.rejects(client.put('..', 'x'), TypeError);
      });

      test('list and listAll walk a prefix; clusterStatus', async () => {
        for (let i = 0; i < 7; i++) await client.put(`cl/${i}`, String(i));
        const page = await client.list({ prefix: 'cl/', limit: 3, offset: 3 });
        assert.deepEqual(
          page.items.map((i) => i.key),
          ['cl/3', 'cl/4', 'cl/5'],
        );
        assert.equal(page.total, 7);
        const all: string[] = [];
        for await (const it of client.listAll('cl/', { pageSize: 2 })) all.push(it.value);
        assert.deepEqual(all, ['0', '1', '2', '3', '4', '5', '6']);
        const st = await client.clusterStatus();
        assert.equal(st.is_leader, true);
        assert.equal(st.role, 'leader');
      });
    });
  });
}
