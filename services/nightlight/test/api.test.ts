/** The Prometheus HTTP API and the remote-write receiver against a real NightLight on loopback. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, remoteWrite, startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const T0 = 1_700_000_000_000; // ms

describe('Prometheus HTTP API', () => {
  let h: Harness;
  let url: string;

  before(async () => {
    h = await startHarness({ now: () => T0 + 600_000 });
    url = h.server.url;
    const samples = (f: (i: number) => number) =>
      Array.from({ length: 41 }, (_, i) => ({ t: T0 + i * 15_000, v: f(i), stale: false }));
    const r = await remoteWrite(
      url,
      [
        {
          labels: { __name__: 'http_requests_total', job: 'api', instance: 'a:1', code: '200' },
          samples: samples((i) => i * 10),
        },
        {
          labels: { __name__: 'http_requests_total', job: 'api', instance: 'b:1', code: '500' },
          samples: samples((i) => i),
        },
        {
          labels: { __name__: 'temperature', job: 'sensor', instance: 'c:1' },
          samples: samples((i) => 20 + (i % 3)),
        },
      ],
      [{ metric: 'http_requests_total', type: 'counter', help: 'Requests served.', unit: '' }],
    );
    assert.equal(r.status, 204, r.text);
  });
  after(async () => h.close());

  it('answers instant queries in Prometheus format (values as strings)', async () => {
    const r = await api(
      url,
      `/api/v1/query?query=${encodeURIComponent('sum by (job) (rate(http_requests_total[1m]))')}&time=${(T0 + 600_000) / 1000}`,
    );
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'success');
    const data = r.body.data as {
      resultType: string;
      result: { metric: Record<string, string>; value: [number, string] }[];
    };
    assert.equal(data.resultType, 'vector');
    assert.deepEqual(data.result, [
      { metric: { job: 'api' }, value: [(T0 + 600_000) / 1000, String(11 / 15)] },
    ]);
  });

  it('answers scalar and string queries', async () => {
    const s = await api(url, `/api/v1/query?query=1%2B1&time=100`);
    assert.deepEqual(s.body.data, { resultType: 'scalar', result: [100, '2'] });
    const str = await api(url, `/api/v1/query?query=${encodeURIComponent('"hi"')}&time=100`);
    assert.deepEqual(str.body.data, { resultType: 'string', result: [100, 'hi'] });
    const inf = await api(url, `/api/v1/query?query=${encodeURIComponent('-1/0')}&time=100`);
    assert.deepEqual(inf.body.data, { resultType: 'scalar', result: [100, '-Inf'] });
  });

  it('answers range queries by GET and by form POST', async () => {
    const q = `query=${encodeURIComponent('temperature')}&start=${T0 / 1000}&end=${(T0 + 60_000) / 1000}&step=30s`;
    const get = await api(url, `/api/v1/query_range?${q}`);
    assert.equal(get.status, 200);
    assert.deepEqual(get.body.data, {
      resultType: 'matrix',
      result: [
        {
          metric: { __name__: 'temperature', job: 'sensor', instance: 'c:1' },
          values: [
            [T0 / 1000, '20'],
            [(T0 + 30_000) / 1000, '22'],
            [(T0 + 60_000) / 1000, '21'],
          ],
        },
      ],
    });
    const post = await fetch(`${url}/api/v1/query_range`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: q,
    });
    assert.equal(post.status, 200);
    assert.deepEqual(((await post.json()) as { data: unknown }).data, get.body.data);
  });

  it('reports errors with Prometheus error types and statuses', async () => {
    const bad = await api(url, `/api/v1/query?query=${encodeURIComponent('sum(')}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.status, 'error');
    assert.equal(bad.body.errorType, 'bad_data');
    const exec = await api(
      url,
      `/api/v1/query?query=${encodeURIComponent('http_requests_total + on(job) http_requests_total')}&time=${(T0 + 60_000) / 1000}`,
    );
    assert.equal(exec.status, 422);
    assert.equal(exec.body.errorType, 'execution');
    const step = await api(url, `/api/v1/query_range?query=1&start=0&end=10&step=0`);
    assert.equal(step.status, 400);
    assert.match(String(step.body.error), /zero or negative/);
    const order = await api(url, `/api/v1/query_range?query=1&start=10&end=0&step=1`);
    assert.equal(order.status, 400);
    const res = await api(url, `/api/v1/query_range?query=1&start=0&end=100000&step=1`);
    assert.equal(res.status, 400);
    assert.match(String(res.body.error), /11,000 points/);
    const time = await api(url, `/api/v1/query?query=1&time=yesterday`);
    assert.equal(time.status, 400);
  });

  it('lists series, label names and label values', async () => {
    const series = await api(
      url,
      `/api/v1/series?match[]=${encodeURIComponent('http_requests_total{code="500"}')}`,
    );
    assert.deepEqual(series.body.data, [
      { __name__: 'http_requests_total', code: '500', instance: 'b:1', job: 'api' },
    ]);
    const none = await api(url, `/api/v1/series`);
    assert.equal(none.status, 400);
    const labels = await api(url, `/api/v1/labels`);
    assert.deepEqual(labels.body.data, ['__name__', 'code', 'instance', 'job']);
    const values = await api(url, `/api/v1/label/job/values`);
    assert.deepEqual(values.body.data, ['api', 'sensor']);
    const names = await api(
      url,
      `/api/v1/label/__name__/values?match[]=${encodeURIComponent('{job="sensor"}')}`,
    );
    assert.deepEqual(names.body.data, ['temperature']);
    const invalid = await api(url, `/api/v1/label/bad-name/values`);
    assert.equal(invalid.status, 400);
  });

  it('serves metadata and build info', async () => {
    const md = await api(url, `/api/v1/metadata`);
    assert.deepEqual(md.body.data, {
      http_requests_total: [{ type: 'counter', help: 'Requests served.', unit: '' }],
    });
    const one = await api(url, `/api/v1/metadata?metric=nope`);
    assert.deepEqual(one.body.data, {});
    const bi = await api(url, `/api/v1/status/buildinfo`);
    assert.equal((bi.body.data as { version: string }).version, '2.42.0');
  });

  it('keeps /health in the platform envelope', async () => {
    const res = await fetch(`${url}/health`);
    const body = (await res.json()) as { success: boolean; data: { status: string } };
    assert.equal(body.success, true);
    assert.equal(body.data.status, 'healthy');
  });
});

describe('remote write receiver', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await startHarness();
    url = h.server.url;
  });
  after(async () => h.close());

  it('accepts samples with 204, stores staleness markers, accepts exact duplicates', async () => {
    const series = {
      labels: { __name__: 'rw_metric', a: 'x' },
      samples: [
        { t: 1000, v: 1, stale: false },
        { t: 2000, v: 2, stale: false },
        { t: 3000, v: 0, stale: true },
      ],
    };
    assert.equal((await remoteWrite(url, [series])).status, 204);
    // Re-sending the newest sample (same timestamp, same value) is accepted, as in Prometheus.
    assert.equal(
      (await remoteWrite(url, [{ labels: series.labels, samples: [{ t: 3000, v: 0, stale: true }] }])).status,
      204,
    );
    const at2 = await api(url, `/api/v1/query?query=rw_metric&time=2.5`);
    assert.deepEqual((at2.body.data as { result: unknown[] }).result, [
      { metric: { __name__: 'rw_metric', a: 'x' }, value: [2.5, '2'] },
    ]);
    const at3 = await api(url, `/api/v1/query?query=rw_metric&time=3.5`);
    assert.deepEqual(
      (at3.body.data as { result: unknown[] }).result,
      [],
      'the staleness marker ends the series',
    );
  });

  it('rejects out-of-order and conflicting duplicate samples with 400 and stores nothing of the request', async () => {
    const ok = await remoteWrite(url, [
      { labels: { __name__: 'ooo' }, samples: [{ t: 10_000, v: 1, stale: false }] },
    ]);
    assert.equal(ok.status, 204);
    const ooo = await remoteWrite(url, [
      { labels: { __name__: 'other' }, samples: [{ t: 1000, v: 5, stale: false }] },
      { labels: { __name__: 'ooo' }, samples: [{ t: 5000, v: 1, stale: false }] },
    ]);
    assert.equal(ooo.status, 400);
    assert.match(ooo.text, /out of order/);
    const dup = await remoteWrite(url, [
      { labels: { __name__: 'ooo' }, samples: [{ t: 10_000, v: 2, stale: false }] },
    ]);
    assert.equal(dup.status, 400);
    assert.match(dup.text, /duplicate/);
    const other = await api(url, `/api/v1/query?query=other&time=2`);
    assert.deepEqual(
      (other.body.data as { result: unknown[] }).result,
      [],
      'a rejected request is not partly applied',
    );
  });

  it('rejects undecodable bodies and bad labels with 400, accepts metadata-only requests', async () => {
    const garbage = await fetch(`${url}/api/v1/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      body: new Uint8Array([1, 2, 3, 4, 5]),
    });
    assert.equal(garbage.status, 400);
    const badName = await remoteWrite(url, [
      { labels: { __name__: 'x', 'bad-label': 'v' }, samples: [{ t: 1, v: 1, stale: false }] },
    ]);
    assert.equal(badName.status, 400);
    const meta = await remoteWrite(
      url,
      [],
      [{ metric: 'only_meta', type: 'gauge', help: 'Metadata only.', unit: 'seconds' }],
    );
    assert.equal(meta.status, 204);
    const md = await api(url, `/api/v1/metadata?metric=only_meta`);
    assert.deepEqual(md.body.data, {
      only_meta: [{ type: 'gauge', help: 'Metadata only.', unit: 'seconds' }],
    });
  });
});
