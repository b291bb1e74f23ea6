/* eslint-disable @typescript-eslint/no-explicit-any -- JSON response bodies are navigated dynamically in assertions. */
/**
 * Idempotency-Key and the store audit sink against a real etcd 3.4 (through EtcdStore): replay,
 * 422 on reuse, 409 while in flight, exactly-once under a race, 5xx not remembered, leases, and audit
 * events written to the store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { ConflictError } from '@photoncloud/errors';
import { createLogger } from '@photoncloud/log';
import { EtcdStore, StoreError, bytes, prefixEnd, text } from '@photoncloud/store';
import { startEtcd } from '@photoncloud/test-utils';
import type { EtcdProcess } from '@photoncloud/test-utils';
import { AUDIT_PREFIX, IDEMPOTENCY_PREFIX, StoreAuditSink, createService, ok } from '@photoncloud/http-kit';
import type { AuditEvent, Service } from '@photoncloud/http-kit';

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('idempotency and audit on a real etcd', () => {
  let etcd: EtcdProcess;
  let store: EtcdStore;
  let svc: Service;
  let url: string;
  let executions = 0;
  let failNext = 0;
  let gate: Promise<void> | undefined;
  let entered: (() => void) | undefined;

  before(async () => {
    etcd = await startEtcd();
    store = new EtcdStore({ endpoints: [etcd.endpoint] });
    svc = await createService({
      name: 'orders',
      version: '0',
      auth: { mode: 'local' },
      store,
      logger: createLogger({ service: 'orders', level: 'silent' }),
    });
    svc.app.post(
      '/api/v1/orders',
      { schema: { body: Type.Object({ item: Type.String() }) } },
      async (request, reply) => {
        entered?.();
        if (gate !== undefined) await gate;
        if (failNext > 0) {
          failNext -= 1;
          throw new StoreError('unavailable');
        }
        if (request.body.item === 'conflict') throw new ConflictError('item sold out');
        executions += 1;
        // A real side effect in the store, so "executed once" is visible outside this process too.
        const put = await store.put({
          key: bytes(`/test/orders/${executions}`),
          value: bytes(request.body.item),
        });
        reply.code(201);
        return ok(request, {
          id: `ord-${executions}`,
          item: request.body.item,
          revision: put.header.revision,
        });
      },
    );
    ({ url } = await svc.listen());
  });
  after(async () => {
    await svc?.close();
    await store?.close();
    await etcd?.stop();
  });

  const post = (key: string | undefined, item: string) =>
    fetch(`${url}/api/v1/orders`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, ...(key === undefined ? {} : { 'idempotency-key': key }) },
      body: JSON.stringify({ item }),
    });

  async function orderCount(): Promise<number> {
    return (
      await store.range({
        key: bytes('/test/orders/'),
        rangeEnd: prefixEnd(bytes('/test/orders/')),
        countOnly: true,
      })
    ).count;
  }

  test('replay returns the first result without executing again', async () => {
    const before = await orderCount();
    const first = await post('key-replay', 'book');
    assert.equal(first.status, 201);
    const firstBody = await first.text();
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await post('key-replay', 'book');
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(await again.text(), firstBody);
    assert.match(String(again.headers.get('content-type')), /application\/json/);
    assert.equal(await orderCount(), before + 1);
    // Without a key, every POST executes.
    await post(undefined, 'book');
    await post(undefined, 'book');
    assert.equal(await orderCount(), before + 3);
  });

  test('same key with a different body → 422 IDEMPOTENCY_KEY_REUSED', async () => {
    assert.equal((await post('key-reuse', 'pen')).status, 201);
    const r = await post('key-reuse', 'pencil');
    assert.equal(r.status, 422);
    const body = (await r.json()) as Record<string, any>;
    assert.equal(body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('the record is in the store under the service prefix, with a ~24 h lease', async () => {
    const prefix = bytes(`${IDEMPOTENCY_PREFIX}orders/`);
    const res = await store.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
    assert.ok(res.kvs.length >= 2);
    for (const kv of res.kvs) {
      assert.match(text(kv.key), /^\/photoncloud\/idempotency\/orders\/[0-9a-f]{64}$/);
      assert.notEqual(kv.lease, '0');
      const ttl = await store.leaseTimeToLive(kv.lease);
      assert.ok(ttl.grantedTtl >= 86_400, `granted ${ttl.grantedTtl}`);
      const rec = JSON.parse(text(kv.value)) as Record<string, unknown>;
      assert.equal(rec['state'], 'done');
    }
    // Records share a lease per window instead of one lease each.
    assert.equal(new Set(res.kvs.map((kv) => kv.lease)).size, 1);
  });

  test('while the first request is in flight, duplicates get 409; afterwards they get the replay', async () => {
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    const inHandler = new Promise<void>((r) => (entered = r));
    const first = post('key-inflight', 'lamp');
    await inHandler;
    entered = undefined;
    const dups = await Promise.all([post('key-inflight', 'lamp'), post('key-inflight', 'lamp')]);
    for (const d of dups) {
      assert.equal(d.status, 409);
      assert.equal(d.headers.get('retry-after'), '1');
      assert.equal(((await d.json()) as Record<string, any>).error.code, 'CONFLICT');
    }
    gate = undefined;
    release();
    const done = await first;
    assert.equal(done.status, 201);
    const replay = await post('key-inflight', 'lamp');
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  });

  test('a claim left pending by a process that died is taken over after pendingTimeoutSeconds', async () => {
    // A second process of the same service on the same store; the first one's request never finishes
    // (it stands for a process killed mid-request), so its claim stays pending.
    const second = await createService({
      name: 'orders',
      version: '0',
      auth: { mode: 'local' },
      store,
      idempotency: { pendingTimeoutSeconds: 1 },
      logger: createLogger({ service: 'orders', level: 'silent' }),
    });
    let secondRuns = 0;
    second.app.post(
      '/api/v1/orders',
      { schema: { body: Type.Object({ item: Type.String() }) } },
      async (request, reply) => {
        secondRuns += 1;
        reply.code(201);
        return ok(request, { id: 'ord-second', item: request.body.item });
      },
    );
    const { url: url2 } = await second.listen();
    const post2 = () =>
      fetch(`${url2}/api/v1/orders`, {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'idempotency-key': 'key-abandoned' },
        body: JSON.stringify({ item: 'lamp' }),
      });
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    const inHandler = new Promise<void>((r) => (entered = r));
    const first = post('key-abandoned', 'lamp');
    try {
      await inHandler;
      entered = undefined;
      const early = await post2();
      assert.equal(early.status, 409, 'a fresh claim is respected');
      await new Promise((r) => setTimeout(r, 1300));
      const late = await post2();
      assert.equal(late.status, 201);
      assert.equal(late.headers.get('idempotent-replayed'), null);
      assert.equal(secondRuns, 1);
      const replay = await post2();
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(((await replay.json()) as Record<string, any>).data.id, 'ord-second');
      assert.equal(secondRuns, 1);
    } finally {
      gate = undefined;
      release();
      await first;
      await second.close();
    }
  });

  test('racing duplicates: exactly one executes', async () => {
    const before = executions;
    const results = await Promise.all(Array.from({ length: 8 }, () => post('key-race', 'chair')));
    assert.equal(executions - before, 1, 'handler ran once');
    const statuses = results.map((r) => r.status);
    for (const s of statuses) assert.ok(s === 201 || s === 409, `status ${s}`);
    const executed = results.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
    assert.equal(executed.length, 1);
  });

  test('5xx results are not remembered: a retry executes', async () => {
    failNext = 1;
    const failed = await post('key-5xx', 'desk');
    assert.equal(failed.status, 503);
    const retry = await post('key-5xx', 'desk');
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), null);
  });

  test('4xx results are remembered and replayed', async () => {
    const first = await post('key-4xx', 'conflict');
    assert.equal(first.status, 409);
    const again = await post('key-4xx', 'conflict');
    assert.equal(again.status, 409);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
  });

  test('a bad Idempotency-Key → 400 VALIDATION_ERROR', async () => {
    for (const key of ['x'.repeat(256), 'naïve']) {
      const r = await fetch(`${url}/api/v1/orders`, {
        method: 'POST',
        headers: {
          ...JSON_HEADERS,
          'idempotency-key': encodeURI(key) === key ? key : Buffer.from(key).toString('latin1'),
        },
        body: JSON.stringify({ item: 'x' }),
      });
      assert.equal(r.status, 400);
      const err = ((await r.json()) as Record<string, any>).error;
      assert.equal(err.code, 'VALIDATION_ERROR');
      assert.equal(err.details.field, 'Idempotency-Key');
    }
  });

  test('health includes the store check', async () => {
    const r = await fetch(`${url}/health`);
    assert.equal(r.status, 200);
    assert.deepEqual(((await r.json()) as Record<string, any>).data.checks, { store: { status: 'healthy' } });
  });

  test('audit events are written to /photoncloud/audit/<sortable id>', async () => {
    const r = await fetch(`${url}/api/v1/orders`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'x-request-id': 'audit-req-1' },
      body: JSON.stringify({ item: 'audited' }),
    });
    assert.equal(r.status, 201);
    // The sink writes in the background after the response: poll (bounded) until it lands.
    const prefix = bytes(AUDIT_PREFIX);
    let events: AuditEvent[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await store.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
      events = res.kvs.map((kv) => JSON.parse(text(kv.value)) as AuditEvent);
      if (events.some((e) => e.request_id === 'audit-req-1')) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const ev = events.find((e) => e.request_id === 'audit-req-1');
    assert.ok(ev, 'event stored');
    assert.equal(ev.service, 'orders');
    assert.equal(ev.method, 'POST');
    assert.equal(ev.route, '/api/v1/orders');
    assert.equal(ev.status_code, 201);
    assert.equal(ev.outcome, 'success');
    assert.deepEqual(ev.principal, { id: 'local-admin', kind: 'local' });
    const ids = events.map((e) => e.id);
    assert.deepEqual([...ids].sort(), ids, 'store order (by key) is time order');
    assert.ok(events.some((e) => e.status_code === 422 && e.outcome === 'failure'));
  });

  test('an audit sink that cannot write never fails the request; the failure is logged', async () => {
    const dead = new EtcdStore({ endpoints: [etcd.endpoint] });
    await dead.close();
    const lines: string[] = [];
    const logger = createLogger({
      service: 'x',
      destination: new Writable({
        write(chunk: Buffer, _e, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    });
    const sink = new StoreAuditSink(dead, 'x', { logger });
    const other = await createService({
      name: 'x',
      version: '0',
      auth: { mode: 'local' },
      logger,
      audit: sink,
    });
    try {
      other.app.delete('/thing', async (request) => ok(request, { deleted: 1 }));
      const r = await other.app.inject({ method: 'DELETE', url: '/thing' });
      assert.equal(r.statusCode, 200);
      await sink.flush();
      assert.ok(lines.some((l) => l.includes('audit event could not be written')));
    } finally {
      await other.close();
    }
  });
});
