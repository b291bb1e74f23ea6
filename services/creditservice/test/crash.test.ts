/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically in assertions. */
/**
 * Concurrency and crash safety, as in production: ChainFire runs as its own process
 * (`bin/photoncloud serve chainfire`), CreditService as three more processes talking to it over etcd v3
 * gRPC. 32 clients run random top-ups, charges, reservations, commits and releases on a few wallets;
 * every operation carries an Idempotency-Key and is retried with the same key (on the next instance)
 * until it gets a definitive (non-5xx, non-network-error) answer. Meanwhile the test SIGKILLs a service
 * process 5 times at random moments and restarts it. Afterwards an oracle recomputes every wallet from the acknowledged operations:
 * nothing acknowledged is lost, nothing is applied twice, balance = Σ journal, available ≥ 0 throughout,
 * every reservation resolved at most once and in the state its acknowledged operations say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startProcess, tempDir, waitFor } from '@photoncloud/test-utils';
import type { StartedProcess } from '@photoncloud/test-utils';
import { auditWallet } from '../src/core/ledger.js';
import type { JournalEntry, WalletState } from '../src/core/ledger.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../../..');
const FIXTURE = join(HERE, 'fixtures', 'credit-process.ts');

const WALLETS = 8;
const CLIENTS = 32;
const INITIAL = 20_000;
const RUN_MS = 20_000;
const KILLS = 5;
const INSTANCES = 3;

/** mulberry32, seeded from the environment or the time (printed, so a failure can be replayed). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'topup' | 'charge' | 'reserve' | 'commit' | 'release';

/** One operation and its definitive answer. */
interface Acked {
  kind: Kind;
  project: string;
  body: any;
  reservationId?: string;
  status: number;
  data: any;
  error: any;
  attempts: number;
}

test(
  '32 clients, 5 SIGKILLs of the service: no acknowledged op lost or applied twice',
  { timeout: 240_000 },
  async () => {
    const seed = Number(process.env['CREDIT_CRASH_SEED'] ?? Date.now() % 1_000_000);
    const rand = rng(seed);
    const int = (n: number): number => Math.floor(rand() * n);
    const tmp = await tempDir('photoncloud-credit-crash-');
    const t0 = Date.now();
    const phase = (what: string): void => {
      process.stderr.write(`[credit crash] ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    };
    const procs: StartedProcess[] = [];
    try {
      // ---- ChainFire, as operators run it ----
      const cfHttp = await freePort();
      let cfGrpc = await freePort();
      while (cfGrpc === cfHttp) cfGrpc = await freePort();
      const cf = await startProcess(
        process.execPath,
        [
          join(REPO_ROOT, 'bin', 'photoncloud'),
          'serve',
          'chainfire',
          '--data-dir',
          join(tmp.path, 'chainfire'),
          '--host',
          '127.0.0.1',
          '--http-port',
          String(cfHttp),
          '--grpc-port',
          String(cfGrpc),
        ],
        { cwd: REPO_ROOT },
      );
      procs.push(cf);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${cfHttp}/health`)).ok, {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'ChainFire /health',
      });

      // ---- CreditService: three instances on one store, each on a fixed port so that clients find it
      // again after its restart (a process start takes seconds on a busy machine; with several instances a
      // kill never has to wait for the previous restart).
      const ports: number[] = [];
      while (ports.length < INSTANCES) {
        const p = await freePort();
        if (![cfHttp, cfGrpc, ...ports].includes(p)) ports.push(p);
      }
      const urls = ports.map((p) => `http://127.0.0.1:${p}`);
      const startService = async (slot: number): Promise<StartedProcess> => {
        const p = await startProcess(
          process.execPath,
          ['--import', 'tsx', FIXTURE, `127.0.0.1:${cfGrpc}`, String(ports[slot]), '200'],
          { cwd: REPO_ROOT },
        );
        procs.push(p);
        await p.waitForOutput('READY', 60_000);
        return p;
      };
      const instances: Array<StartedProcess | undefined> = await Promise.all(
        ports.map((_, i) => startService(i)),
      );
      const base = urls[0]!;
      phase('ChainFire and 3 CreditService instances up');

      let networkErrors = 0;
      let serverErrors = 0;
      let replays = 0;

      /** Send until a definitive answer: a network error or a 5xx means "unknown", so retry the same key. */
      const send = async (
        path: string,
        body: unknown,
      ): Promise<{ status: number; json: any; attempts: number }> => {
        const key = randomUUID();
        const first = int(INSTANCES);
        for (let attempt = 1; attempt <= 2000; attempt++) {
          // The first try goes to a random instance; each retry (same key) to the next one.
          const url = urls[(first + attempt - 1) % INSTANCES]!;
          try {
            const res = await fetch(url + path, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'idempotency-key': key },
              body: JSON.stringify(body),
              signal: AbortSignal.timeout(15_000),
            });
            const json = (await res.json()) as any;
            if (res.status < 500) {
              if (res.headers.get('idempotent-replayed') === 'true') replays++;
              return { status: res.status, json, attempts: attempt };
            }
            serverErrors++;
          } catch {
            networkErrors++;
          }
          await sleep(30 + int(70));
        }
        throw new Error(`no definitive answer for ${path}`);
      };

      const projects = Array.from({ length: WALLETS }, (_, i) => `crash-p${i}`);
      for (const p of projects) {
        const r = await send('/api/v1/wallets', {
          project_id: p,
          org_id: 'org-crash',
          initial_balance: INITIAL,
        });
        assert.equal(r.status, 201, JSON.stringify(r.json));
      }

      const acked: Acked[] = [];
      const deadline = Date.now() + RUN_MS;
      const client = async (): Promise<void> => {
        const mine: Array<{ id: string; project: string; amount: number }> = [];
        while (Date.now() < deadline || !killsDone) {
          const roll = int(100);
          let kind: Kind;
          if (mine.length > 0 && roll < 25) kind = 'commit';
          else if (mine.length > 0 && roll < 40) kind = 'release';
          else if (roll < 60) kind = 'reserve';
          else if (roll < 80) kind = 'topup';
          else kind = 'charge';
          if (kind === 'commit' || kind === 'release') {
            const [r] = mine.splice(int(mine.length), 1);
            const body = kind === 'commit' ? { actual_amount: int(r!.amount + 1) } : { reason: 'test' };
            const res = await send(`/api/v1/reservations/${r!.id}/${kind}`, body);
            acked.push({
              kind,
              project: r!.project,
              body,
              reservationId: r!.id,
              status: res.status,
              data: res.json.data,
              error: res.json.error,
              attempts: res.attempts,
            });
            continue;
          }
          const project = projects[int(projects.length)]!;
          let path: string;
          let body: any;
          if (kind === 'reserve') {
            // One in five reservations is short-lived, so the expiry controller races commits too.
            const ttl = int(5) === 0 ? 1 + int(3) : 3600;
            path = '/api/v1/reservations';
            body = { project_id: project, amount: 1 + int(3000), ttl_seconds: ttl };
          } else {
            path = `/api/v1/wallets/${project}/${kind}`;
            body = { amount: 1 + int(kind === 'topup' ? 1500 : 2500) };
          }
          const res = await send(path, body);
          acked.push({
            kind,
            project,
            body,
            status: res.status,
            data: res.json.data,
            error: res.json.error,
            attempts: res.attempts,
          });
          if (kind === 'reserve' && res.status === 201)
            mine.push({ id: res.json.data.id, project, amount: body.amount });
        }
      };

      const restarts: Array<Promise<void>> = [];
      let killsDone = false;
      const killer = async (): Promise<number> => {
        let kills = 0;
        const slotMs = RUN_MS / (KILLS + 1);
        for (let i = 0; i < KILLS; i++) {
          await sleep(slotMs * 0.5 + rand() * slotMs);
          // Kill a live instance while another one still serves (bounded wait for a restart to finish).
          const live = await waitFor(
            () => {
              const up = instances.flatMap((p, slot) => (p === undefined ? [] : [slot]));
              return up.length >= 2 ? up : undefined;
            },
            { timeoutMs: 60_000, intervalMs: 50, what: 'two live instances' },
          );
          const slot = live[int(live.length)]!;
          const victim = instances[slot]!;
          instances[slot] = undefined;
          process.kill(victim.pid, 'SIGKILL');
          await victim.exited;
          kills++;
          restarts.push(
            startService(slot).then((p) => {
              instances[slot] = p;
            }),
          );
        }
        killsDone = true;
        await Promise.all(restarts);
        return kills;
      };

      const [kills] = await Promise.all([killer(), ...Array.from({ length: CLIENTS }, client)]);
      phase('load and kills done');
      assert.equal(kills, KILLS, 'every planned kill happened inside the run');
      // Let the sweeper expire what is due (the longest short TTL is 3 s).
      await sleep(4000);

      // ---- the oracle ----
      const get = async (path: string): Promise<any> => {
        const res = await fetch(base + path);
        assert.equal(res.status, 200, path);
        return ((await res.json()) as any).data;
      };
      let totalEntries = 0;
      for (const p of projects) {
        const w = await get(`/api/v1/wallets/${p}`);
        const journal: JournalEntry[] = [];
        for (let offset = 0; ; offset += 100) {
          const page = await get(`/api/v1/wallets/${p}/transactions?limit=100&offset=${offset}`);
          for (const t of page.transactions) journal.push({ ...t, postings: t.entries });
          if (page.transactions.length < 100) break;
        }
        totalEntries += journal.length;
        const state = { ...w, seq: journal.length } as WalletState;
        assert.deepEqual(auditWallet(state, journal), [], `books of ${p}`);
        assert.ok(w.available >= 0);

        const ops = acked.filter((a) => a.project === p);
        const ok = (k: Kind) => ops.filter((a) => a.kind === k && a.status < 300);
        const byType = (t: string) => journal.filter((e) => e.type === t);
        const ids = (xs: Array<{ id: string }>) => xs.map((x) => x.id).sort();

        // Every acknowledged top-up/charge is in the journal exactly once, and nothing else is.
        const deposits = byType('deposit').filter((e) => e.seq !== 1);
        assert.deepEqual(ids(deposits), ids(ok('topup').map((a) => a.data.transaction)), `top-ups of ${p}`);
        assert.deepEqual(
          ids(byType('charge')),
          ids(ok('charge').map((a) => a.data.transaction)),
          `charges of ${p}`,
        );
        const reserved = ok('reserve')
          .map((a) => a.data.id)
          .sort();
        assert.deepEqual(
          byType('reserve')
            .map((e) => e.reservation_id)
            .sort(),
          reserved,
          `reservations of ${p}`,
        );
        const commits = ok('commit');
        const releases = ok('release');
        assert.deepEqual(
          byType('commit')
            .map((e) => e.reservation_id)
            .sort(),
          commits.map((a) => a.reservationId).sort(),
          `commits of ${p}`,
        );
        assert.deepEqual(
          byType('release')
            .map((e) => e.reservation_id)
            .sort(),
          releases.map((a) => a.reservationId).sort(),
          `releases of ${p}`,
        );
        // Refused operations left no trace (a refusal is definitive only when nothing was applied).
        for (const a of ops.filter((x) => x.status >= 300)) {
          if (a.kind === 'topup' || a.kind === 'charge' || a.kind === 'reserve')
            assert.equal(
              a.error.details?.reason,
              a.kind === 'topup' ? 'BALANCE_OVERFLOW' : 'INSUFFICIENT_CREDITS',
              JSON.stringify(a.error),
            );
          else
            assert.ok(
              ['RESERVATION_EXPIRED', 'RESERVATION_NOT_ACTIVE'].includes(a.error.details?.reason),
              JSON.stringify(a.error),
            );
        }

        // The balance, recomputed from the acknowledged operations alone.
        const sum = (xs: Acked[], f: (a: Acked) => number) => xs.reduce((s, a) => s + f(a), 0);
        const expected =
          INITIAL +
          sum(ok('topup'), (a) => a.body.amount) -
          sum(ok('charge'), (a) => a.body.amount) -
          sum(commits, (a) => a.body.actual_amount);
        assert.equal(w.balance, expected, `balance of ${p}`);

        // Every reservation is in the state its acknowledged operations say; expired ones expired once.
        let stillReserved = 0;
        for (const id of reserved) {
          const r = await get(`/api/v1/reservations/${id}`);
          const c = commits.find((a) => a.reservationId === id);
          const rl = releases.find((a) => a.reservationId === id);
          if (c !== undefined) {
            assert.equal(r.status, 'committed');
            assert.equal(r.committed_amount, c.body.actual_amount);
          } else if (rl !== undefined) assert.equal(r.status, 'released');
          else assert.ok(r.status === 'active' || r.status === 'expired', `${id} is ${r.status}`);
          const expiries = journal.filter((e) => e.type === 'expire' && e.reservation_id === id).length;
          assert.equal(expiries, r.status === 'expired' ? 1 : 0, `expiries of ${id}`);
          if (r.status === 'active') stillReserved += r.amount;
        }
        assert.equal(w.reserved, stillReserved, `reserved of ${p}`);
      }

      phase('oracle done');
      const succeeded = acked.filter((a) => a.status < 300).length;
      const retried = acked.filter((a) => a.attempts > 1).length;
      process.stderr.write(
        `[credit crash] seed=${seed} ops=${acked.length} ok=${succeeded} retried=${retried} replays=${replays} ` +
          `network_errors=${networkErrors} 5xx=${serverErrors} journal_entries=${totalEntries} kills=${kills}\n`,
      );
      assert.ok(acked.length > 200, 'enough operations ran');
      assert.ok(networkErrors > 0 && retried > 0, 'the kills interrupted operations');
    } finally {
      await Promise.all(procs.map((p) => p.stop('SIGTERM', 5000).catch(() => undefined)));
      await tmp.cleanup();
    }
  },
);
