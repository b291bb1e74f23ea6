/**
 * `npm run bench:credit`: CreditService reserve+commit throughput and latency. ChainFire runs in-process
 * (its embedded engine on a temp data dir) with CreditService on a free loopback port; N closed-loop HTTP
 * clients each do `POST /api/v1/reservations` then `POST /api/v1/reservations/{id}/commit`, both with an
 * Idempotency-Key, as a billing caller would. Two layouts: spread over many wallets, and all clients on
 * one hot wallet (every pair serializes on that wallet's record). Prints a table of absolute figures
 * (there is no external anchor for a credit ledger) and writes bench/results/credit-<timestamp>.json.
 *
 *   npm run bench:credit                 # 10 s per scenario, clients 1, 16, 64
 *   npm run bench:credit -- --quick      # 3 s per scenario
 *   npm run bench:credit -- --duration=5 --clients=1,8
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@photoncloud/log';
import { tempDir } from '@photoncloud/test-utils';
import { openChainFire } from '../../services/chainfire/src/engine.js';
import { startCreditServiceServer } from '../../services/creditservice/src/server.js';
import { LatencySamples, summarizeLatencies } from '../chainfire/latency-stats.js';
import type { LatencySummary } from '../chainfire/latency-stats.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Command-line options. */
interface Options {
  durationSec: number;
  warmupSec: number;
  clients: number[];
  wallets: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { durationSec: 10, warmupSec: 1, clients: [1, 16, 64], wallets: 256 };
  for (const a of argv) {
    if (a === '--quick') {
      opts.durationSec = 3;
      opts.warmupSec = 0.5;
    } else if (a.startsWith('--duration=')) opts.durationSec = Number(a.slice(11));
    else if (a.startsWith('--clients=')) opts.clients = a.slice(10).split(',').map(Number);
    else if (a.startsWith('--wallets=')) opts.wallets = Number(a.slice(10));
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: bench:credit [--quick] [--duration=SEC] [--clients=1,16,64] [--wallets=N]\n',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (
    !(opts.durationSec > 0) ||
    opts.clients.some((c) => !Number.isInteger(c) || c < 1) ||
    !(opts.wallets >= 1)
  ) {
    throw new Error('bad option value');
  }
  return opts;
}

/** One scenario's result. */
interface Result {
  scenario: string;
  clients: number;
  pairs: number;
  pairsPerSec: number;
  latency: LatencySummary;
  errors: Record<string, number>;
}

const log = (msg: string): void => {
  process.stderr.write(`[bench:credit] ${msg}\n`);
};

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; json: { data?: { id?: string } } }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { data?: { id?: string } } };
}

async function runScenario(
  base: string,
  scenario: string,
  projects: string[],
  clients: number,
  opts: Options,
): Promise<Result> {
  const samples = new LatencySamples();
  const errors: Record<string, number> = {};
  let pairs = 0;
  const start = Date.now();
  const measureFrom = start + opts.warmupSec * 1000;
  const end = measureFrom + opts.durationSec * 1000;
  const worker = async (i: number): Promise<void> => {
    let n = i;
    while (Date.now() < end) {
      const project = projects[n++ % projects.length]!;
      const t = performance.now();
      const started = Date.now();
      const r = await post(`${base}/api/v1/reservations`, {
        project_id: project,
        amount: 10,
        ttl_seconds: 600,
      });
      if (r.status !== 201 || r.json.data?.id === undefined) {
        errors[`reserve ${r.status}`] = (errors[`reserve ${r.status}`] ?? 0) + 1;
        continue;
      }
      const c = await post(`${base}/api/v1/reservations/${r.json.data.id}/commit`, { actual_amount: 7 });
      if (c.status !== 200) {
        errors[`commit ${c.status}`] = (errors[`commit ${c.status}`] ?? 0) + 1;
        continue;
      }
      if (started >= measureFrom && Date.now() <= end) {
        samples.add(performance.now() - t);
        pairs++;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => worker(i)));
  return {
    scenario,
    clients,
    pairs,
    pairsPerSec: pairs / opts.durationSec,
    latency: summarizeLatencies(samples),
    errors,
  };
}

function table(results: Result[]): string {
  const head = ['scenario', 'clients', 'pairs/s', 'p50 ms', 'p99 ms', 'max ms', 'errors'];
  const rows = results.map((r) => [
    r.scenario,
    String(r.clients),
    r.pairsPerSec.toFixed(1),
    r.latency.p50.toFixed(2),
    r.latency.p99.toFixed(2),
    r.latency.max.toFixed(1),
    Object.entries(r.errors)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || '0',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const load = loadavg()[0] ?? 0;
  if (load > 0.5 * cpus().length)
    log(`warning: load average is ${load.toFixed(1)} on ${cpus().length} CPUs; figures will be noisy`);
  const dir = await tempDir('photoncloud-bench-credit-');
  const store = await openChainFire({ dataDir: dir.path });
  const server = await startCreditServiceServer({
    store,
    auth: { mode: 'local' },
    logger: createLogger({ service: 'creditservice', level: 'warn' }),
  });
  const results: Result[] = [];
  try {
    log(`ChainFire in-process, CreditService at ${server.url}`);
    const many = Array.from({ length: opts.wallets }, (_, i) => `bench-w${i}`);
    const hot = ['bench-hot'];
    for (const p of [...many, ...hot]) {
      const r = await post(`${server.url}/api/v1/wallets`, {
        project_id: p,
        org_id: 'bench',
        initial_balance: 1_000_000_000_000,
      });
      if (r.status !== 201) throw new Error(`wallet ${p}: ${r.status}`);
    }
    for (const [name, projects] of [
      [`spread over ${opts.wallets} wallets`, many],
      ['one hot wallet', hot],
    ] as const) {
      for (const c of opts.clients) {
        const r = await runScenario(server.url, name, projects, c, opts);
        log(`${name}, ${c} clients: ${r.pairsPerSec.toFixed(1)} pairs/s, p99 ${r.latency.p99.toFixed(2)} ms`);
        results.push(r);
      }
    }
  } finally {
    await server.close();
    await store.close();
    await dir.cleanup();
  }
  process.stdout.write(
    `\nCreditService reserve+commit (HTTP, Idempotency-Key on both, ChainFire in-process)\n`,
  );
  process.stdout.write(`${table(results)}\n`);
  const outDir = join(REPO_ROOT, 'bench', 'results');
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `credit-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ options: opts, loadavg: loadavg(), results }, null, 2));
  log(`results written to ${file}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:credit: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
