/**
 * The REST API guide's §6 (CreditService) curl examples, run verbatim with the real `curl` (and `jq` where
 * the guide pipes into it) against CreditService on a free port; only `http://localhost:8086` is rewritten
 * to the test server's URL. The examples name a fixed reservation ID (rsv-001), so the server's ID source
 * is pinned to hand out exactly that ID for the first reservation. Also steps 3 and 6 of the guide's
 * "Example 1: Deploy VM with Networking" (the reservation parts), as a bash script.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { newId } from '../src/storage/credit-store.js';
import { startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const exec = promisify(execFile);

/** IDs as the guide shows them for the first reservation; random afterwards. */
function guideIds(): (prefix: string) => string {
  let first = true;
  return (prefix) => {
    if (prefix === 'rsv-' && first) {
      first = false;
      return 'rsv-001';
    }
    return newId(prefix);
  };
}

/** Run a shell snippet from the guide with the port rewritten; returns stdout. */
async function sh(h: Harness, snippet: string, env: Record<string, string> = {}): Promise<string> {
  const cmd = snippet.replaceAll('http://localhost:8086', h.url);
  assert.notEqual(cmd, snippet, 'the snippet must address CreditService');
  const { stdout } = await exec('bash', ['-c', `set -euo pipefail\n${cmd}`], {
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return stdout;
}

/** Run one curl command from the guide, adding only `-w` to learn the status; parse the JSON body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically.
async function curl(h: Harness, snippet: string): Promise<{ status: number; body: any }> {
  const out = await sh(h, `${snippet} -s -w '\\n%{http_code}'`);
  const nl = out.lastIndexOf('\n');
  return { status: Number(out.slice(nl + 1)), body: JSON.parse(out.slice(0, nl)) };
}

// ---- the guide's §6 commands, verbatim -------------------------------------------------------------

const HEALTH = 'curl http://localhost:8086/health';

const CREATE_WALLET = `curl -X POST http://localhost:8086/api/v1/wallets \\
  -H "Content-Type: application/json" \\
  -d '{
    "project_id": "proj-456",
    "org_id": "org-123",
    "initial_balance": 10000
  }'`;

const GET_WALLET = 'curl http://localhost:8086/api/v1/wallets/proj-456';

const TOP_UP = `curl -X POST http://localhost:8086/api/v1/wallets/proj-456/topup \\
  -H "Content-Type: application/json" \\
  -d '{
    "amount": 5000,
    "description": "Monthly credit purchase"
  }'`;

const TRANSACTIONS = 'curl "http://localhost:8086/api/v1/wallets/proj-456/transactions?limit=10"';

const RESERVE = `curl -X POST http://localhost:8086/api/v1/reservations \\
  -H "Content-Type: application/json" \\
  -d '{
    "project_id": "proj-456",
    "amount": 2000,
    "description": "VM creation reservation",
    "resource_type": "vm",
    "resource_id": "vm-004",
    "ttl_seconds": 3600
  }'`;

const COMMIT = `curl -X POST http://localhost:8086/api/v1/reservations/rsv-001/commit \\
  -H "Content-Type: application/json" \\
  -d '{
    "actual_amount": 1800,
    "resource_id": "vm-004"
  }'`;

const RELEASE = `curl -X POST http://localhost:8086/api/v1/reservations/rsv-001/release \\
  -H "Content-Type: application/json" \\
  -d '{
    "reason": "VM creation failed"
  }'`;

/** Example 1, step 3 (verbatim). */
const EXAMPLE1_STEP3 = `# 3. Reserve Credits
RSV_ID=$(curl -s -X POST http://localhost:8086/api/v1/reservations \\
  -H "Content-Type: application/json" \\
  -d '{
    "project_id": "proj-456",
    "amount": 5000,
    "resource_type": "vm",
    "ttl_seconds": 3600
  }' | jq -r '.data.id')`;

/** Example 1, step 6 (verbatim). */
const EXAMPLE1_STEP6 = `# 6. Commit Reservation
curl -X POST "http://localhost:8086/api/v1/reservations/$RSV_ID/commit" \\
  -H "Content-Type: application/json" \\
  -d "{
    \\"actual_amount\\": 4500,
    \\"resource_id\\": \\"$VM_ID\\"
  }"`;

describe('guide §6 CreditService curl examples', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ newId: guideIds() });
  });
  after(async () => {
    await h?.close();
  });

  test('Health Check', async () => {
    const { status, body } = await curl(h, HEALTH);
    assert.equal(status, 200);
    assert.equal(body.data.status, 'healthy');
    assert.equal(body.data.service, 'creditservice');
  });

  test('Create Wallet', async () => {
    const { status, body } = await curl(h, CREATE_WALLET);
    assert.equal(status, 201);
    assert.equal(body.success, true);
    assert.equal(body.data.project_id, 'proj-456');
    assert.equal(body.data.balance, 10_000);
    // Again: one wallet per project.
    const again = await curl(h, CREATE_WALLET);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'CONFLICT');
    assert.equal(again.body.error.details.reason, 'WALLET_EXISTS');
  });

  test('Get Wallet Balance (the guide response fields)', async () => {
    const { status, body } = await curl(h, GET_WALLET);
    assert.equal(status, 200);
    const { project_id, org_id, balance, reserved, available, currency, status: st } = body.data;
    assert.deepEqual(
      { project_id, org_id, balance, reserved, available, currency, status: st },
      {
        project_id: 'proj-456',
        org_id: 'org-123',
        balance: 10_000,
        reserved: 0,
        available: 10_000,
        currency: 'JPY',
        status: 'active',
      },
    );
    assert.equal(typeof body.meta.request_id, 'string');
  });

  test('Top Up Credits', async () => {
    const { status, body } = await curl(h, TOP_UP);
    assert.equal(status, 200);
    assert.equal(body.data.wallet.balance, 15_000);
    assert.equal(body.data.transaction.type, 'deposit');
    assert.equal(body.data.transaction.amount, 5000);
  });

  test('Reserve Credits (the guide response)', async () => {
    const { status, body } = await curl(h, RESERVE);
    assert.equal(status, 201);
    assert.equal(body.data.id, 'rsv-001');
    assert.equal(body.data.project_id, 'proj-456');
    assert.equal(body.data.amount, 2000);
    assert.equal(body.data.status, 'active');
    const ttl = Date.parse(body.data.expires_at) - Date.parse(body.data.created_at);
    assert.equal(ttl, 3600_000);
    const w = await curl(h, GET_WALLET);
    assert.equal(w.body.data.reserved, 2000);
    assert.equal(w.body.data.available, 13_000);
  });

  test('Commit Reservation: 1800 charged, 200 released', async () => {
    const { status, body } = await curl(h, COMMIT);
    assert.equal(status, 200);
    assert.equal(body.data.status, 'committed');
    assert.equal(body.data.committed_amount, 1800);
    const w = await curl(h, GET_WALLET);
    assert.deepEqual([w.body.data.balance, w.body.data.reserved, w.body.data.available], [13_200, 0, 13_200]);
    // Resolved exactly once: the guide's release after the commit is refused.
    const rel = await curl(h, RELEASE);
    assert.equal(rel.status, 409);
    assert.equal(rel.body.error.details.reason, 'RESERVATION_NOT_ACTIVE');
  });

  test('Get Transactions (the guide response fields)', async () => {
    const { status, body } = await curl(h, TRANSACTIONS);
    assert.equal(status, 200);
    const txns = body.data.transactions;
    assert.deepEqual(
      txns.map((t: { type: string; amount: number }) => [t.type, t.amount]),
      [
        ['deposit', 10_000],
        ['deposit', 5000],
        ['reserve', 0],
        ['commit', -1800],
      ],
    );
    const topup = txns[1];
    assert.match(topup.id, /^txn-/);
    assert.equal(topup.project_id, 'proj-456');
    assert.equal(topup.description, 'Monthly credit purchase');
    assert.ok(!Number.isNaN(Date.parse(topup.timestamp)));
    assert.equal(txns[3].resource_id, 'vm-004');
    assert.equal(body.meta.total, 4);
    assert.equal(body.meta.limit, 10);
  });

  test('Example 1, steps 3 and 6: reserve 5000, commit 4500 for the VM', async () => {
    const script = `VM_ID=vm-app-server\n${EXAMPLE1_STEP3}\necho "RSV=$RSV_ID"\n${EXAMPLE1_STEP6}`;
    const out = await sh(h, script);
    const rsv = /RSV=(rsv-[0-9a-f]+)/.exec(out)?.[1];
    assert.ok(rsv !== undefined, out);
    const committed = JSON.parse(out.slice(out.indexOf('\n') + 1));
    assert.equal(committed.data.id, rsv);
    assert.equal(committed.data.status, 'committed');
    assert.equal(committed.data.committed_amount, 4500);
    assert.equal(committed.data.resource_id, 'vm-app-server');
    const w = await curl(h, GET_WALLET);
    assert.equal(w.body.data.balance, 13_200 - 4500);
    assert.equal(w.body.data.reserved, 0);
  });
});

describe('guide §6 Release Reservation', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ newId: guideIds() });
  });
  after(async () => {
    await h?.close();
  });

  test('reserve, then release gives every credit back', async () => {
    assert.equal((await curl(h, CREATE_WALLET)).status, 201);
    assert.equal((await curl(h, RESERVE)).status, 201);
    const { status, body } = await curl(h, RELEASE);
    assert.equal(status, 200);
    assert.equal(body.data.status, 'released');
    assert.equal(body.data.reason, 'VM creation failed');
    const w = await curl(h, GET_WALLET);
    assert.deepEqual([w.body.data.balance, w.body.data.reserved, w.body.data.available], [10_000, 0, 10_000]);
    const late = await curl(h, COMMIT);
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'CONFLICT');
  });
});
