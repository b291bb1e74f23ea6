/**
 * Differential test against Debian's Prometheus 2.42 (/usr/bin/prometheus, installed by
 * scripts/setup.sh): Prometheus scrapes a static exposition served by this test and remote-writes
 * everything it ingests to NightLight, so both hold the same samples. The same PromQL queries
 * (instant and range) must then give the same answers from both.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, startProcess, waitFor } from '@photoncloud/test-utils';
import type { StartedProcess } from '@photoncloud/test-utils';
import { startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const PROMETHEUS = '/usr/bin/prometheus';

interface PromResponse {
  status: string;
  data: { resultType: string; result: unknown };
  error?: string;
}

async function query(base: string, path: string): Promise<PromResponse> {
  const res = await fetch(base + path);
  return (await res.json()) as PromResponse;
}

/** Canonical form of a result: series sorted by labels, values as numbers. */
function canonical(data: PromResponse['data']): unknown {
  if (data.resultType === 'scalar' || data.resultType === 'string') return data;
  const rows = (
    data.result as { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[]
  ).map((r) => ({
    metric: JSON.stringify(Object.fromEntries(Object.entries(r.metric).sort())),
    points: (r.values ?? (r.value ? [r.value] : [])).map(([t, v]) => [t, Number(v)] as const),
  }));
  rows.sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0));
  return { resultType: data.resultType, rows };
}

function close(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function assertSame(name: string, prom: unknown, nl: unknown): void {
  const p = prom as {
    resultType: string;
    rows?: { metric: string; points: (readonly [number, number])[] }[];
  };
  const n = nl as typeof p;
  assert.equal(n.resultType, p.resultType, `${name}: result type`);
  if (!p.rows || !n.rows) {
    assert.deepEqual(n, p, name);
    return;
  }
  assert.deepEqual(
    n.rows.map((r) => r.metric),
    p.rows.map((r) => r.metric),
    `${name}: series`,
  );
  p.rows.forEach((row, i) => {
    const other = n.rows?.[i];
    assert.ok(other);
    assert.deepEqual(
      other.points.map(([t]) => t),
      row.points.map(([t]) => t),
      `${name}: timestamps of ${row.metric}`,
    );
    row.points.forEach(([, v], j) => {
      const w = other.points[j]?.[1] as number;
      assert.ok(close(v, w), `${name}: ${row.metric} point ${j}: prometheus ${v}, nightlight ${w}`);
    });
  });
}

const QUERIES = [
  'up',
  'diff_requests_total',
  'rate(diff_requests_total[5s])',
  'irate(diff_requests_total[5s])',
  'increase(diff_requests_total[4s])',
  'sum by (code) (rate(diff_requests_total[5s]))',
  'diff_temperature * on(room) group_left(building) diff_room_info',
  'avg_over_time(diff_temperature[6s])',
  'max_over_time(diff_temperature[6s:1s])',
  'deriv(diff_temperature[6s])',
  'predict_linear(diff_temperature[6s], 60)',
  'histogram_quantile(0.9, sum by (le) (rate(diff_latency_seconds_bucket[5s])))',
  'topk(2, diff_requests_total)',
  'count by (__name__) ({job="diff"})',
  'diff_requests_total offset 2s',
  'label_replace(diff_temperature, "floor", "$1", "room", "r(\\\\d)")',
  'diff_requests_total > bool 10',
  'diff_requests_total and on(code) diff_requests_total{code="200"}',
  'quantile(0.5, diff_temperature)',
  'stddev(diff_temperature)',
  'count_values("v", diff_room_info)',
  'changes(diff_temperature[6s])',
  'resets(diff_requests_total[6s])',
  'absent(nonexistent_metric{job="x"})',
  'scalar(sum(diff_room_info))',
  'timestamp(up)',
];

describe('differential test against Prometheus 2.42', () => {
  let h: Harness;
  let target: Server;
  let prom: StartedProcess | undefined;
  let promUrl: string;
  let scrapes = 0;

  before(async () => {
    assert.ok(existsSync(PROMETHEUS), `${PROMETHEUS} is not installed (scripts/setup.sh installs it)`);
    h = await startHarness();
    target = createServer((_req, res) => {
      scrapes++;
      const n = scrapes;
      const lines = [
        '# HELP diff_requests_total Requests.',
        '# TYPE diff_requests_total counter',
        `diff_requests_total{code="200"} ${n * 7}`,
        // A counter reset every 4 scrapes.
        `diff_requests_total{code="500"} ${n % 4}`,
        '# TYPE diff_temperature gauge',
        `diff_temperature{room="r1"} ${20 + Math.sin(n) * 3}`,
        `diff_temperature{room="r2"} ${18 + (n % 3) * 0.25}`,
        `diff_room_info{room="r1",building="a"} 1`,
        `diff_room_info{room="r2",building="b"} 1`,
        '# TYPE diff_latency_seconds histogram',
        `diff_latency_seconds_bucket{le="0.1"} ${n * 3}`,
        `diff_latency_seconds_bucket{le="0.5"} ${n * 5}`,
        `diff_latency_seconds_bucket{le="1"} ${n * 6}`,
        `diff_latency_seconds_bucket{le="+Inf"} ${n * 6 + 1}`,
        `diff_latency_seconds_sum ${n * 2.5}`,
        `diff_latency_seconds_count ${n * 6 + 1}`,
        '',
      ];
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n'));
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetPort = (target.address() as AddressInfo).port;
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const config = `${h.dir.path}/prometheus.yml`;
    await writeFile(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: diff',
        '    static_configs:',
        `      - targets: ["127.0.0.1:${targetPort}"]`,
        'remote_write:',
        `  - url: ${h.server.url}/api/v1/write`,
        '    queue_config:',
        '      batch_send_deadline: 200ms',
        '      min_backoff: 50ms',
        '    metadata_config:',
        '      send_interval: 1s',
        '',
      ].join('\n'),
    );
    prom = await startProcess(PROMETHEUS, [
      `--config.file=${config}`,
      `--storage.tsdb.path=${h.dir.path}/prometheus-data`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ]);
  });

  after(async () => {
    await prom?.stop('SIGTERM', 5000);
    await h?.close();
    await new Promise((r) => target?.close(r));
  });

  it('gives the same answers as Prometheus for the same samples', { timeout: 120_000 }, async () => {
    // Let Prometheus scrape a dozen times, then wait until NightLight has what Prometheus has.
    await waitFor(async () => scrapes >= 12, { timeoutMs: 60_000, intervalMs: 200 });
    const latest = await query(
      promUrl,
      `/api/v1/query?query=${encodeURIComponent('scalar(max(timestamp(up)))')}`,
    );
    const ts = Number((latest.data.result as [number, string])[1]);
    assert.ok(ts > 0);
    await waitFor(
      async () => {
        const r = await query(
          h.server.url,
          `/api/v1/query?query=${encodeURIComponent('scalar(max(timestamp(up)))')}&time=${ts}`,
        );
        return (
          r.status === 'success' &&
          r.data.result !== null &&
          Number((r.data.result as [number, string])[1]) >= ts
        );
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const t = ts.toFixed(3);
    const start = (ts - 8).toFixed(3);
    let compared = 0;
    for (const q of QUERIES) {
      const enc = encodeURIComponent(q);
      for (const path of [
        `/api/v1/query?query=${enc}&time=${t}`,
        `/api/v1/query_range?query=${enc}&start=${start}&end=${t}&step=1`,
      ]) {
        const p = await query(promUrl, path);
        const n = await query(h.server.url, path);
        assert.equal(p.status, 'success', `prometheus: ${q}: ${p.error ?? ''}`);
        assert.equal(n.status, 'success', `nightlight: ${q}: ${n.error ?? ''}`);
        const pc = canonical(p.data) as { rows?: unknown[] };
        assert.ok(
          pc.rows === undefined || pc.rows.length > 0,
          `${q}: Prometheus returned nothing, the comparison would be vacuous`,
        );
        assertSame(`${q} (${path.split('?')[0]})`, pc, canonical(n.data));
        compared++;
      }
    }
    // Series and label APIs agree too.
    for (const path of [
      `/api/v1/labels?match[]=${encodeURIComponent('{job="diff"}')}`,
      `/api/v1/label/room/values`,
      `/api/v1/series?match[]=${encodeURIComponent('diff_temperature')}`,
    ]) {
      const p = await query(promUrl, path);
      const n = await query(h.server.url, path);
      assert.deepEqual(n.data, p.data, path);
      compared++;
    }
    console.log(`compared ${compared} answers with Prometheus 2.42: all equal`);
  });
});
