/**
 * `npm run bench:tsdb`: NightLight vs Prometheus 2.42 (/usr/bin/prometheus, with its remote-write
 * receiver), both started by this run on loopback with temp data dirs. Both receive the same
 * remote-write batches (same client, same concurrency), then answer the same range queries.
 * Prints absolute figures and NightLight/Prometheus ratios; writes bench/results/tsdb-<timestamp>.json.
 *
 *   node --import tsx bench/tsdb/run.ts [--series 500] [--samples 480] [--concurrency 4] [--repeat 5]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compress } from 'snappyjs';
import { createLogger } from '@photoncloud/log';
import { freePort, startProcess, tempDir, waitFor } from '@photoncloud/test-utils';
import { openChainFire } from '../../services/chainfire/src/engine.js';
import { encodeWriteRequest } from '../../services/nightlight/src/core/remote-write.js';
import { startNightLightServer } from '../../services/nightlight/src/server.js';

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const SERIES = arg('series', 500);
const SAMPLES = arg('samples', 480);
const CONCURRENCY = arg('concurrency', 4);
const REPEAT = arg('repeat', 5);
const STEP_MS = 15_000;
const PER_REQUEST = 10; // samples per series per request (like a remote-write shard batch)

/**
 * Pre-encoded request bodies per shard (as Prometheus' remote-write shards: each series belongs to
 * one shard, whose requests go out in time order); each request covers PER_REQUEST samples.
 */
function buildBodies(t0: number): Uint8Array[][] {
  const shards: Uint8Array[][] = Array.from({ length: CONCURRENCY }, () => []);
  for (let shard = 0; shard < CONCURRENCY; shard++)
    for (let s0 = 0; s0 < SAMPLES; s0 += PER_REQUEST) {
      const series = [];
      for (let i = shard; i < SERIES; i += CONCURRENCY) {
        const samples = [];
        for (let k = s0; k < Math.min(SAMPLES, s0 + PER_REQUEST); k++) {
          samples.push({
            t: t0 + k * STEP_MS,
            v: i % 3 === 0 ? k * (i + 1) : Math.round(Math.sin(k / 10 + i) * 1000) / 10,
            stale: false,
          });
        }
        series.push({
          labels: [
            ['__name__', i % 3 === 0 ? 'bench_requests_total' : 'bench_gauge'],
            ['instance', `host-${i % 50}`],
            ['job', `job-${i % 5}`],
            ['series', String(i)],
          ] as [string, string][],
          samples,
        });
      }
      (shards[shard] as Uint8Array[]).push(compress(encodeWriteRequest({ series })) as Uint8Array);
    }
  return shards;
}

async function ingest(url: string, shards: Uint8Array[][]): Promise<number> {
  const start = performance.now();
  await Promise.all(
    shards.map(async (bodies) => {
      for (const body of bodies) {
        const res = await fetch(`${url}/api/v1/write`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-protobuf',
            'content-encoding': 'snappy',
            'x-prometheus-remote-write-version': '0.1.0',
          },
          body,
        });
        if (res.status !== 204 && res.status !== 200)
          throw new Error(`${url}: remote write ${res.status}: ${await res.text()}`);
      }
    }),
  );
  return (performance.now() - start) / 1000;
}

const QUERIES = [
  'sum by (job) (rate(bench_requests_total[5m]))',
  'avg_over_time(bench_gauge[10m])',
  'histogram_quantile(0.9, sum by (le) (rate(bench_requests_total[5m])))',
  'topk(5, max_over_time(bench_gauge[30m]))',
];

async function timeQuery(url: string, q: string, start: number, end: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t = performance.now();
    const res = await fetch(
      `${url}/api/v1/query_range?query=${encodeURIComponent(q)}&start=${start / 1000}&end=${end / 1000}&step=60`,
    );
    const body = (await res.json()) as { status: string; error?: string };
    if (body.status !== 'success') throw new Error(`${url}: ${q}: ${body.error}`);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

async function main(): Promise<void> {
  const dir = await tempDir('bench-tsdb-');
  const t0 = Math.floor((Date.now() - SAMPLES * STEP_MS) / STEP_MS) * STEP_MS;
  const bodies = buildBodies(t0);
  const cf = await openChainFire({ dataDir: join(dir.path, 'chainfire') });
  const nl = await startNightLightServer({
    store: cf,
    auth: { mode: 'local' },
    port: 0,
    dataDir: join(dir.path, 'nightlight'),
    logger: createLogger({ service: 'nightlight', level: 'warn' }),
  });
  const promPort = await freePort();
  const promUrl = `http://127.0.0.1:${promPort}`;
  await writeFile(join(dir.path, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  const prom = await startProcess('/usr/bin/prometheus', [
    `--config.file=${join(dir.path, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir.path, 'prometheus')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--web.enable-remote-write-receiver',
    '--log.level=warn',
  ]);
  try {
    await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const total = SERIES * SAMPLES;
    // Alternate which side goes first? Each ingests its own copy once; order: Prometheus, NightLight.
    const promIngest = await ingest(promUrl, bodies);
    const nlIngest = await ingest(nl.url, bodies);
    const end = t0 + (SAMPLES - 1) * STEP_MS;
    const rows: { metric: string; nightlight: number; prometheus: number; ratio: number }[] = [
      {
        metric: 'ingest samples/s (higher is better)',
        nightlight: total / nlIngest,
        prometheus: total / promIngest,
        ratio: total / nlIngest / (total / promIngest),
      },
    ];
    for (const q of QUERIES) {
      const p = await timeQuery(promUrl, q, t0, end);
      const n = await timeQuery(nl.url, q, t0, end);
      rows.push({
        metric: `query_range ms (median of ${REPEAT}): ${q}`,
        nightlight: n,
        prometheus: p,
        ratio: n / p,
      });
    }
    console.log(
      `NightLight vs Prometheus 2.42 — ${SERIES} series × ${SAMPLES} samples (${total} samples), concurrency ${CONCURRENCY}`,
    );
    for (const r of rows)
      console.log(
        `${r.metric}\n    nightlight ${r.nightlight.toFixed(1)}  prometheus ${r.prometheus.toFixed(1)}  ratio ${r.ratio.toFixed(2)}`,
      );
    const out = join(REPO_ROOT, 'bench', 'results');
    await mkdir(out, { recursive: true });
    const file = join(out, `tsdb-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(
      file,
      JSON.stringify({ series: SERIES, samples: SAMPLES, concurrency: CONCURRENCY, rows }, null, 2),
    );
    console.log(`results: ${file}`);
  } finally {
    await prom.stop('SIGTERM', 5000);
    await nl.close();
    await cf.close();
    await dir.cleanup();
  }
}

await main();
