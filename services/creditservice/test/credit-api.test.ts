/**
 * CreditService over HTTP against a real ChainFire engine: error paths (never a 500), idempotency
 * (replay, 422, racing duplicates, recorded refusals), concurrency on one wallet, reservation expiry
 * (lazy on commit, and the sweeper exactly once with two instances), quotas, tenancy, pagination and
 * the aliases of the patterns doc.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UnauthorizedError } from '@photoncloud/errors';
import type { Principal } from '@photoncloud/http-kit';
import { CreditServiceClient } from '@photoncloud/creditservice-api';
import { ApiClientError } from '@photoncloud/http-kit/client';
import { auditWallet } from '../src/core/ledger.js';
import { CreditStore } from '../src/storage/credit-store.js';
import { startHarness } from './helpers.js';
import type { Harness, Res } from './helpers.js';

function assertError(res: Res, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.success, false);
  assert.equal(res.body.error.code, code, JSON.stringify(res.body));
}

async function wallet(h: Harness, projectId: string, initial = 10_000): Promise<void> {
  const res = await h.call('POST', '/api/v1/wallets', {
    project_id: projectId,
    org_id: 'org-1',
    initial_balance: initial,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

async function reserve(
  h: Harness,
  projectId: string,
  amount: number,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await h.call('POST', '/api/v1/reservations', { project_id: projectId, amount, ...extra });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.data.id as string;
}

async function audit(h: Harness, projectId: string): Promise<void> {
  const w = await h.server.credit.getWallet(projectId);
  assert.ok(w !== undefined);
  assert.deepEqual(auditWallet(w, await h.server.credit.journal(projectId)), []);
}

describe('error paths', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await wallet(h, 'p-err');
  });
  after(async () => {
    await h?.close();
  });

  test('commit more than reserved → 400, nothing changes; commit after release → 409', async () => {
    const id = await reserve(h, 'p-err', 1000);
    assertError(
      await h.call('POST', `/api/v1/reservations/${id}/commit`, { actual_amount: 1001 }),
      400,
      'VALIDATION_ERROR',
    );
    const r = await h.call('GET', `/api/v1/reservations/${id}`);
    assert.equal(r.body.data.status, 'active');
    assert.equal((await h.call('POST', `/api/v1/reservations/${id}/release`, {})).status, 200);
    const again = await h.call('POST', `/api/v1/reservations/${id}/commit`, { actual_amount: 10 });
    assertError(again, 409, 'CONFLICT');
    assert.equal(again.body.error.details.reason, 'RESERVATION_NOT_ACTIVE');
    assertError(await h.call('POST', `/api/v1/reservations/${id}/release`, {}), 409, 'CONFLICT');
    await audit(h, 'p-err');
  });

  test('unknown wallets and reservations → 404', async () => {
    assertError(await h.call('GET', '/api/v1/wallets/nope'), 404, 'NOT_FOUND');
    assertError(await h.call('POST', '/api/v1/wallets/nope/topup', { amount: 1 }), 404, 'NOT_FOUND');
    assertError(await h.call('POST', '/api/v1/wallets/nope/charge', { amount: 1 }), 404, 'NOT_FOUND');
    assertError(await h.call('GET', '/api/v1/wallets/nope/transactions'), 404, 'NOT_FOUND');
    assertError(
      await h.call('POST', '/api/v1/reservations', { project_id: 'nope', amount: 1 }),
      404,
      'NOT_FOUND',
    );
    assertError(await h.call('GET', '/api/v1/reservations/rsv-nope'), 404, 'NOT_FOUND');
    assertError(await h.call('POST', '/api/v1/reservations/rsv-nope/commit', {}), 404, 'NOT_FOUND');
    assertError(await h.call('POST', '/api/v1/reservations/rsv-nope/release', {}), 404, 'NOT_FOUND');
    assertError(
      await h.call('POST', '/api/v1/wallets/p-err/commit', { reservation_id: 'rsv-nope' }),
      404,
      'NOT_FOUND',
    );
  });

  test('negative, zero, fractional and oversized amounts → 400 VALIDATION_ERROR', async () => {
    const cases: Array<[string, string, unknown]> = [
      ['POST', '/api/v1/wallets/p-err/topup', { amount: -5 }],
      ['POST', '/api/v1/wallets/p-err/topup', { amount: 0 }],
      ['POST', '/api/v1/wallets/p-err/topup', { amount: 1.5 }],
      ['POST', '/api/v1/wallets/p-err/topup', { amount: '5' }],
      ['POST', '/api/v1/wallets/p-err/topup', { amount: 1e300 }],
      ['POST', '/api/v1/wallets/p-err/charge', { amount: -1 }],
      ['POST', '/api/v1/reservations', { project_id: 'p-err', amount: -100 }],
      ['POST', '/api/v1/reservations', { project_id: 'p-err', amount: 10, ttl_seconds: 0 }],
      ['POST', '/api/v1/reservations', { project_id: 'p-err', amount: 10, ttl_seconds: 99_999_999 }],
      ['POST', '/api/v1/reservations', { amount: 10 }],
      ['POST', '/api/v1/wallets', { project_id: 'p-x', org_id: 'o', initial_balance: -1 }],
      ['POST', '/api/v1/wallets', { project_id: 'p-x', org_id: 'o', currency: 'yen' }],
      ['POST', '/api/v1/wallets', { project_id: 'bad/id', org_id: 'o' }],
      ['POST', '/api/v1/wallets/p-err/topup', { amount: 5, surprise: true }],
      ['PUT', '/api/v1/quotas/p-err', { limits: { vcpus: -1 } }],
      ['POST', '/api/v1/quotas/p-err/consume', { resources: { vcpus: 0 } }],
    ];
    for (const [method, path, body] of cases) {
      const res = await h.call(method, path, body);
      assertError(res, 400, 'VALIDATION_ERROR');
    }
    const id = await reserve(h, 'p-err', 10);
    assertError(
      await h.call('POST', `/api/v1/reservations/${id}/commit`, { actual_amount: -1 }),
      400,
      'VALIDATION_ERROR',
    );
    assertError(await h.call('POST', '/api/v1/wallets/p-err/topup', '{"amount":', {}), 400, 'BAD_REQUEST');
    assertError(await h.call('GET', '/api/v1/wallets/p-err/transactions?limit=0'), 400, 'VALIDATION_ERROR');
    assertError(await h.call('GET', '/api/v1/wallets/p-err/transactions?limit=101'), 400, 'VALIDATION_ERROR');
  });

  test('insufficient credits → 409 with details; available never negative', async () => {
    await wallet(h, 'p-poor', 100);
    const c = await h.call('POST', '/api/v1/wallets/p-poor/charge', { amount: 101 });
    assertError(c, 409, 'CONFLICT');
    assert.deepEqual(c.body.error.details, {
      reason: 'INSUFFICIENT_CREDITS',
      project_id: 'p-poor',
      requested: 101,
      available: 100,
    });
    await reserve(h, 'p-poor', 60);
    assertError(
      await h.call('POST', '/api/v1/reservations', { project_id: 'p-poor', amount: 41 }),
      409,
      'CONFLICT',
    );
    assertError(await h.call('POST', '/api/v1/wallets/p-poor/charge', { amount: 41 }), 409, 'CONFLICT');
    const ok = await h.call('POST', '/api/v1/wallets/p-poor/charge', { amount: 40 });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.data.wallet.available, 0);
    await audit(h, 'p-poor');
  });
});

describe('idempotency', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await wallet(h, 'p-idem', 1000);
  });
  after(async () => {
    await h?.close();
  });

  test('same key + same body → the same result, applied once; another body → 422', async () => {
    const key = { 'idempotency-key': 'topup-1' };
    const a = await h.call('POST', '/api/v1/wallets/p-idem/topup', { amount: 500 }, key);
    const b = await h.call('POST', '/api/v1/wallets/p-idem/topup', { amount: 500 }, key);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(a.headers.get('idempotent-replayed'), null);
    assert.deepEqual(b.body.data, a.body.data);
    assertError(
      await h.call('POST', '/api/v1/wallets/p-idem/topup', { amount: 501 }, key),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
    assertError(
      await h.call('POST', '/api/v1/wallets/p-idem/charge', { amount: 500 }, key),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
    assert.equal((await h.call('GET', '/api/v1/wallets/p-idem')).body.data.balance, 1500);
  });

  test('a refusal is recorded too: the retry gets the same 409 even after a top-up', async () => {
    const key = { 'idempotency-key': 'charge-big' };
    const first = await h.call('POST', '/api/v1/wallets/p-idem/charge', { amount: 2000 }, key);
    assertError(first, 409, 'CONFLICT');
    await h.call('POST', '/api/v1/wallets/p-idem/topup', { amount: 5000 });
    const retry = await h.call('POST', '/api/v1/wallets/p-idem/charge', { amount: 2000 }, key);
    assertError(retry, 409, 'CONFLICT');
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(retry.body.error, first.body.error);
  });

  test('racing duplicates: 12 concurrent requests with one key apply once', async () => {
    const before = (await h.call('GET', '/api/v1/wallets/p-idem')).body.data.balance as number;
    const key = { 'idempotency-key': 'race-1' };
    const all = await Promise.all(
      Array.from({ length: 12 }, () => h.call('POST', '/api/v1/wallets/p-idem/topup', { amount: 7 }, key)),
    );
    for (const r of all) assert.equal(r.status, 200);
    assert.equal(new Set(all.map((r) => r.body.data.transaction.id)).size, 1);
    assert.equal((await h.call('GET', '/api/v1/wallets/p-idem')).body.data.balance, before + 7);
  });

  test('two instances on one store: racing duplicates of one key apply once', async () => {
    const { startCreditServiceServer } = await import('../src/server.js');
    const { createLogger } = await import('@photoncloud/log');
    const second = await startCreditServiceServer({
      store: h.store,
      auth: { mode: 'local' },
      logger: createLogger({ service: 'creditservice', level: 'silent' }),
      sweepIntervalMs: 0,
    });
    try {
      const rsv = await reserve(h, 'p-idem', 5);
      const urls = [h.url, second.url];
      const commits = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          fetch(`${urls[i % 2]}/api/v1/reservations/${rsv}/commit`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': 'c-x' },
            body: JSON.stringify({ actual_amount: 3 }),
          }).then(async (r) => ({ status: r.status, replayed: r.headers.get('idempotent-replayed') })),
        ),
      );
      for (const c of commits) assert.equal(c.status, 200);
      assert.equal(commits.filter((c) => c.replayed === null).length, 1, 'exactly one executed');
      const journal = await h.server.credit.journal('p-idem');
      assert.equal(journal.filter((e) => e.type === 'commit' && e.reservation_id === rsv).length, 1);
      await audit(h, 'p-idem');
    } finally {
      await second.close();
    }
  });

  test('an invalid Idempotency-Key → 400', async () => {
    const long = { 'idempotency-key': 'x'.repeat(300) };
    assertError(
      await h.call('POST', '/api/v1/wallets/p-idem/topup', { amount: 1 }, long),
      400,
      'VALIDATION_ERROR',
    );
  });
});

describe('concurrency on one wallet', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await wallet(h, 'p-hot', 1000);
  });
  after(async () => {
    await h?.close();
  });

  test('30 concurrent charges of 100 on 1000: exactly 10 succeed, across two server instances', async () => {
    const { startCreditServiceServer } = await import('../src/server.js');
    const { createLogger } = await import('@photoncloud/log');
    const second = await startCreditServiceServer({
      store: h.store,
      auth: { mode: 'local' },
      logger: createLogger({ service: 'creditservice', level: 'silent' }),
      sweepIntervalMs: 0,
    });
    try {
      const urls = [h.url, second.url];
      const all = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          fetch(`${urls[i % 2]}/api/v1/wallets/p-hot/charge`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ amount: 100 }),
          }).then((r) => r.status),
        ),
      );
      assert.equal(all.filter((s) => s === 200).length, 10);
      assert.equal(all.filter((s) => s === 409).length, 20);
      const w = (await h.call('GET', '/api/v1/wallets/p-hot')).body.data;
      assert.deepEqual([w.balance, w.available], [0, 0]);
      await audit(h, 'p-hot');
    } finally {
      await second.close();
    }
  });
});

describe('reservation expiry', () => {
  let h: Harness;
  let now = Date.parse('2026-06-01T00:00:00Z');
  before(async () => {
    h = await startHarness({ clock: () => now });
    await wallet(h, 'p-exp', 1000);
  });
  after(async () => {
    await h?.close();
  });

  test('a commit after the deadline (not yet swept) expires it and answers 409', async () => {
    const id = await reserve(h, 'p-exp', 300, { ttl_seconds: 10 });
    now += 11_000;
    assert.equal((await h.call('GET', `/api/v1/reservations/${id}`)).body.data.status, 'active');
    const late = await h.call('POST', `/api/v1/reservations/${id}/commit`, { actual_amount: 100 });
    assertError(late, 409, 'CONFLICT');
    assert.equal(late.body.error.details.reason, 'RESERVATION_EXPIRED');
    assert.equal((await h.call('GET', `/api/v1/reservations/${id}`)).body.data.status, 'expired');
    const w = (await h.call('GET', '/api/v1/wallets/p-exp')).body.data;
    assert.deepEqual([w.balance, w.reserved], [1000, 0]);
    assertError(await h.call('POST', `/api/v1/reservations/${id}/release`, {}), 409, 'CONFLICT');
    assert.equal(await h.server.credit.sweepExpired(), 0, 'nothing left for the sweeper');
    await audit(h, 'p-exp');
  });

  test('the sweeper expires due reservations exactly once, with two instances racing', async () => {
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(await reserve(h, 'p-exp', 10, { ttl_seconds: 5 + i }));
    const keep = await reserve(h, 'p-exp', 10, { ttl_seconds: 3600 });
    now += 8_000; // the first four are due
    const other = new CreditStore({ store: h.store, clock: () => now });
    const counts = await Promise.all([
      h.server.credit.sweepExpired(),
      other.sweepExpired(),
      h.server.credit.sweepExpired(),
    ]);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      4,
    );
    const statuses = await Promise.all(
      ids.map(async (id) => (await h.call('GET', `/api/v1/reservations/${id}`)).body.data.status),
    );
    assert.deepEqual(statuses, ['expired', 'expired', 'expired', 'expired', 'active', 'active']);
    assert.equal((await h.call('GET', `/api/v1/reservations/${keep}`)).body.data.status, 'active');
    const w = (await h.call('GET', '/api/v1/wallets/p-exp')).body.data;
    assert.equal(w.reserved, 30);
    const journal = await h.server.credit.journal('p-exp');
    assert.equal(journal.filter((e) => e.type === 'expire').length, 5);
    await audit(h, 'p-exp');
  });
});

describe('quotas', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test('set, read, consume within limits, 409 over them, release, If-Match', async () => {
    const empty = await h.call('GET', '/api/v1/quotas/p-q');
    assert.equal(empty.status, 200);
    assert.deepEqual([empty.body.data.limits, empty.body.data.usage], [{}, {}]);
    const put = await h.call('PUT', '/api/v1/quotas/p-q', {
      limits: { vcpus: 8, memory_mib: 16_384, vms: 2 },
    });
    assert.equal(put.status, 200);
    const etag = put.headers.get('etag');
    assert.ok(etag !== null);
    const c1 = await h.call('POST', '/api/v1/quotas/p-q/consume', {
      resources: { vcpus: 4, memory_mib: 8192, vms: 1 },
    });
    assert.equal(c1.status, 200);
    assert.deepEqual(c1.body.data.usage, { vcpus: 4, memory_mib: 8192, vms: 1 });
    const over = await h.call('POST', '/api/v1/quotas/p-q/consume', { resources: { vms: 1, vcpus: 5 } });
    assertError(over, 409, 'CONFLICT');
    assert.equal(over.body.error.details.reason, 'QUOTA_EXCEEDED');
    assert.equal(over.body.error.details.resource, 'vcpus');
    const got = await h.call('GET', '/api/v1/quotas/p-q');
    assert.deepEqual(got.body.data.usage, { vcpus: 4, memory_mib: 8192, vms: 1 }, 'all or nothing');
    assertError(
      await h.call('POST', '/api/v1/quotas/p-q/release', { resources: { vcpus: 5 } }),
      409,
      'CONFLICT',
    );
    assert.equal(
      (await h.call('POST', '/api/v1/quotas/p-q/release', { resources: { vcpus: 4 } })).status,
      200,
    );
    assertError(
      await h.call('PUT', '/api/v1/quotas/p-q', { limits: { vcpus: 1 } }, { 'if-match': '"1"' }),
      412,
      'PRECONDITION_FAILED',
    );
    const cur = (await h.call('GET', '/api/v1/quotas/p-q')).headers.get('etag')!;
    const ok = await h.call('PUT', '/api/v1/quotas/p-q', { limits: { vcpus: 1 } }, { 'if-match': cur });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.data.limits, { vcpus: 1 });
  });

  test('20 concurrent consumers of 1 against a limit of 10: exactly 10 succeed', async () => {
    await h.call('PUT', '/api/v1/quotas/p-q2', { limits: { vms: 10 } });
    const all = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.call('POST', '/api/v1/quotas/p-q2/consume', { resources: { vms: 1 } }),
      ),
    );
    assert.equal(all.filter((r) => r.status === 200).length, 10);
    assert.equal(all.filter((r) => r.status === 409).length, 10);
    assert.deepEqual((await h.call('GET', '/api/v1/quotas/p-q2')).body.data.usage, { vms: 10 });
  });
});

describe('tenancy', () => {
  let h: Harness;
  before(async () => {
    const tokens: Record<string, Principal> = {
      'tok-a': { id: 'user-a', kind: 'token', projectId: 'p-a', orgId: 'org-1', roles: [], isAdmin: false },
    };
    h = await startHarness({
      auth: {
        mode: 'local',
        verifyToken: async (t) => {
          const p = tokens[t];
          if (p === undefined) throw new UnauthorizedError('bad token');
          return p;
        },
      },
    });
    await wallet(h, 'p-a');
    await wallet(h, 'p-b');
  });
  after(async () => {
    await h?.close();
  });

  test('a token scoped to one project cannot see or touch another', async () => {
    const auth = { authorization: 'Bearer tok-a' };
    assert.equal((await h.call('GET', '/api/v1/wallets/p-a', undefined, auth)).status, 200);
    assertError(await h.call('GET', '/api/v1/wallets/p-b', undefined, auth), 403, 'FORBIDDEN');
    assertError(await h.call('POST', '/api/v1/wallets/p-b/charge', { amount: 1 }, auth), 403, 'FORBIDDEN');
    assertError(
      await h.call('POST', '/api/v1/reservations', { project_id: 'p-b', amount: 1 }, auth),
      403,
      'FORBIDDEN',
    );
    const rsvB = await reserve(h, 'p-b', 5);
    assertError(await h.call('GET', `/api/v1/reservations/${rsvB}`, undefined, auth), 404, 'NOT_FOUND');
    assertError(await h.call('POST', `/api/v1/reservations/${rsvB}/release`, {}, auth), 404, 'NOT_FOUND');
    const list = await h.call('GET', '/api/v1/wallets', undefined, auth);
    assert.deepEqual(
      list.body.data.wallets.map((w: { project_id: string }) => w.project_id),
      ['p-a'],
    );
    const all = await h.call('GET', '/api/v1/wallets');
    assert.equal(all.body.meta.total, 2);
  });
});

describe('transactions, aliases and the typed client', () => {
  let h: Harness;
  let client: CreditServiceClient;
  before(async () => {
    h = await startHarness();
    client = new CreditServiceClient({ baseUrl: h.url });
  });
  after(async () => {
    await h?.close();
  });

  test('pagination by offset/limit, newest first with order=desc, Link and X-Total-Count', async () => {
    await client.createWallet({ project_id: 'p-t', org_id: 'o', initial_balance: 1 });
    for (let i = 0; i < 24; i++) await client.topUp('p-t', { amount: i + 1 });
    const page = await h.call('GET', '/api/v1/wallets/p-t/transactions?limit=10&offset=20');
    assert.equal(page.body.meta.total, 25);
    assert.deepEqual(
      page.body.data.transactions.map((t: { seq: number }) => t.seq),
      [21, 22, 23, 24, 25],
    );
    assert.equal(page.headers.get('x-total-count'), '25');
    const desc = await client.transactions('p-t', { limit: 3, order: 'desc' });
    assert.deepEqual(
      desc.transactions.map((t) => t.seq),
      [25, 24, 23],
    );
    const first = await h.call('GET', '/api/v1/wallets/p-t/transactions?limit=3');
    assert.match(first.headers.get('link') ?? '', /offset=3.*rel="next"/);
    const all = [];
    for await (const t of client.allTransactions('p-t')) all.push(t);
    assert.equal(all.length, 25);
    assert.equal(
      all.reduce((s, t) => s + t.amount, 0),
      1 + (24 * 25) / 2,
    );
  });

  test('patterns-doc aliases: /wallets/{id}/reserve|commit|release', async () => {
    await client.createWallet({ project_id: 'p-al', org_id: 'o', initial_balance: 1000 });
    const r1 = await h.call('POST', '/api/v1/wallets/p-al/reserve', { amount: 400 });
    assert.equal(r1.status, 201);
    const c = await h.call('POST', '/api/v1/wallets/p-al/commit', {
      reservation_id: r1.body.data.id,
      actual_amount: 300,
    });
    assert.equal(c.status, 200);
    const r2 = await h.call('POST', '/api/v1/wallets/p-al/reserve', { amount: 100 });
    assertError(
      await h.call('POST', '/api/v1/wallets/p-t/release', { reservation_id: r2.body.data.id }),
      404,
      'NOT_FOUND',
    );
    const rel = await h.call('POST', '/api/v1/wallets/p-al/release', {
      reservation_id: r2.body.data.id,
      reason: 'x',
    });
    assert.equal(rel.status, 200);
    const w = await client.getWallet('p-al');
    assert.deepEqual([w.balance, w.reserved, w.available], [700, 0, 700]);
    await assert.rejects(
      client.getReservation('rsv-missing'),
      (e: unknown) => e instanceof ApiClientError && e.status === 404,
    );
    await audit(h, 'p-al');
  });

  test('the OpenAPI document lists the routes', async () => {
    const doc = await h.call('GET', '/api/v1/openapi.json');
    assert.equal(doc.status, 200);
    for (const p of [
      '/api/v1/wallets',
      '/api/v1/reservations/{id}/commit',
      '/api/v1/quotas/{project_id}/consume',
    ]) {
      assert.ok(p in doc.body.paths, p);
    }
  });
});
