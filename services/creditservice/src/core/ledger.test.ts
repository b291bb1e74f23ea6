import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEPOSITS,
  REVENUE,
  auditWallet,
  availableAccount,
  availableOf,
  charge,
  commit,
  expire,
  isDue,
  openWallet,
  postingSum,
  release,
  replayJournal,
  reservedAccount,
  reserve,
  topUp,
} from './ledger.js';
import type { Decision, JournalEntry, ReservationState, WalletState } from './ledger.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** mulberry32: a small seeded PRNG, so every run of a seed is the same. */
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

function fresh(initial: number): { wallet: WalletState; journal: JournalEntry[] } {
  const { wallet, entry } = openWallet(
    { project_id: 'p1', org_id: 'o1', currency: 'JPY', initial_balance: initial },
    { entryId: 'txn-0', now: iso(T0) },
  );
  return { wallet, journal: entry === undefined ? [] : [entry] };
}

function must<T>(d: Decision<T>): Extract<Decision<T>, { ok: true }> {
  if (!d.ok) throw new Error(`refused: ${d.rejection.message}`);
  return d;
}

test('guide example: 10000, +5000, reserve 2000, commit 1800 → balance 13200, 200 back to available', () => {
  let { wallet } = fresh(10_000);
  const ctx = (id: string) => ({ entryId: id, now: iso(T0) });
  wallet = must(topUp(wallet, { amount: 5000 }, ctx('t1'))).wallet;
  const r = must(
    reserve(wallet, { reservationId: 'rsv-1', amount: 2000, expires_at: iso(T0 + 3600_000) }, ctx('t2')),
  );
  assert.equal(r.wallet.balance, 15_000);
  assert.equal(r.wallet.reserved, 2000);
  assert.equal(availableOf(r.wallet), 13_000);
  const c = must(commit(r.wallet, r.value, { actual_amount: 1800 }, ctx('t3'), T0));
  assert.equal(c.wallet.balance, 13_200);
  assert.equal(c.wallet.reserved, 0);
  assert.equal(c.value.status, 'committed');
  assert.equal(c.value.committed_amount, 1800);
  assert.deepEqual(c.entry.postings, [
    { account: reservedAccount('p1'), amount: -2000 },
    { account: REVENUE, amount: 1800 },
    { account: availableAccount('p1'), amount: 200 },
  ]);
  assert.equal(c.entry.amount, -1800);
});

test('refusals: insufficient credits, over-commit, double resolution, late commit expires', () => {
  const { wallet } = fresh(1000);
  const ctx = { entryId: 'x', now: iso(T0) };
  const short = charge(wallet, { amount: 1001 }, ctx);
  assert.equal(short.ok, false);
  assert.equal(!short.ok && short.rejection.code, 'insufficient_credits');
  assert.equal(!short.ok && short.rejection.details['reason'], 'INSUFFICIENT_CREDITS');
  assert.equal(reserve(wallet, { reservationId: 'r', amount: 1001, expires_at: iso(T0) }, ctx).ok, false);

  const r = must(reserve(wallet, { reservationId: 'r', amount: 500, expires_at: iso(T0 + 1000) }, ctx));
  const over = commit(r.wallet, r.value, { actual_amount: 501 }, ctx, T0);
  assert.equal(!over.ok && over.rejection.code, 'exceeds_reserved');

  const rel = must(release(r.wallet, r.value, { reason: 'failed' }, ctx, T0));
  assert.equal(rel.value.status, 'released');
  assert.equal(rel.wallet.balance, 1000);
  const again = commit(rel.wallet, rel.value, {}, ctx, T0);
  assert.equal(!again.ok && again.rejection.code, 'reservation_not_active');
  assert.equal(release(rel.wallet, rel.value, {}, ctx, T0).ok, false);
  assert.equal(expire(rel.wallet, rel.value, ctx).ok, false);

  // Past its deadline: commit is refused, and the refusal carries the expiry to write.
  assert.equal(isDue(r.value, T0 + 1000), true);
  const late = commit(r.wallet, r.value, { actual_amount: 10 }, ctx, T0 + 1000);
  assert.equal(late.ok, false);
  assert.equal(!late.ok && late.rejection.code, 'reservation_expired');
  assert.equal(!late.ok && late.reservation?.status, 'expired');
  assert.equal(!late.ok && late.wallet?.reserved, 0);
  assert.equal(!late.ok && late.entry?.type, 'expire');
});

test('commit of 0 releases everything; default commit takes the whole reservation', () => {
  const { wallet } = fresh(100);
  const ctx = { entryId: 'x', now: iso(T0) };
  const r = must(reserve(wallet, { reservationId: 'r', amount: 60, expires_at: iso(T0 + 1000) }, ctx));
  const zero = must(commit(r.wallet, r.value, { actual_amount: 0 }, ctx, T0));
  assert.equal(zero.wallet.balance, 100);
  assert.equal(zero.entry.postings.length, 2);
  const full = must(commit(r.wallet, r.value, {}, ctx, T0));
  assert.equal(full.wallet.balance, 40);
  assert.equal(full.value.committed_amount, 60);
});

test('a zero initial balance writes no entry', () => {
  const { journal, wallet } = fresh(0);
  assert.equal(journal.length, 0);
  assert.equal(wallet.seq, 0);
});

for (const seed of [1, 2, 3, 42, 1234]) {
  test(`random operations keep the books balanced (seed ${seed})`, () => {
    const rand = rng(seed);
    const int = (n: number): number => Math.floor(rand() * n);
    const start = fresh(int(5000));
    let wallet = start.wallet;
    const journal = start.journal;
    const active: ReservationState[] = [];
    let now = T0;
    let applied = 0;
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      now += int(2000);
      const ctx = { entryId: `txn-${i}`, now: iso(now) };
      const pick = int(6);
      let d: Decision<unknown>;
      let touched: ReservationState | undefined;
      if (pick === 0) d = topUp(wallet, { amount: 1 + int(3000) }, ctx);
      else if (pick === 1) d = charge(wallet, { amount: 1 + int(2000) }, ctx);
      else if (pick === 2 || active.length === 0) {
        d = reserve(
          wallet,
          { reservationId: `rsv-${i}`, amount: 1 + int(2000), expires_at: iso(now + int(20_000)) },
          ctx,
        );
      } else {
        touched = active.splice(int(active.length), 1)[0]!;
        if (pick === 3) d = commit(wallet, touched, { actual_amount: int(touched.amount + 200) }, ctx, now);
        else if (pick === 4) d = release(wallet, touched, {}, ctx, now);
        else d = isDue(touched, now) ? expire(wallet, touched, ctx) : release(wallet, touched, {}, ctx, now);
      }
      if (d.ok) {
        applied++;
        wallet = d.wallet;
        journal.push(d.entry);
        const v = d.value as ReservationState | null;
        if (v !== null && v.status === 'active') active.push(v);
      } else {
        refused++;
        if (d.wallet !== undefined && d.entry !== undefined) {
          wallet = d.wallet;
          journal.push(d.entry);
        } else if (touched !== undefined && d.rejection.code === 'exceeds_reserved') {
          active.push(touched);
        }
      }
      assert.ok(availableOf(wallet) >= 0, 'available never negative');
      assert.ok(wallet.reserved >= 0);
    }
    assert.ok(applied > 500 && refused > 0, `mix exercised (${applied} applied, ${refused} refused)`);
    assert.deepEqual(auditWallet(wallet, journal), []);
    for (const e of journal) assert.equal(postingSum(e.postings), 0);
    // The books of the whole system sum to zero: what the wallet holds came from deposits, minus revenue.
    const b = replayJournal(journal);
    const held = (b.get(availableAccount('p1')) ?? 0) + (b.get(reservedAccount('p1')) ?? 0);
    assert.equal(held, wallet.balance);
    assert.equal(held + (b.get(DEPOSITS) ?? 0) + (b.get(REVENUE) ?? 0), 0);
    assert.equal(
      wallet.reserved,
      active.reduce((s, r) => s + r.amount, 0),
      'reserved = Σ active reservations',
    );
  });
}

test('auditWallet finds tampering', () => {
  let { wallet, journal } = fresh(100);
  const c = must(charge(wallet, { amount: 30 }, { entryId: 't', now: iso(T0) }));
  wallet = c.wallet;
  journal = [...journal, c.entry];
  assert.deepEqual(auditWallet(wallet, journal), []);
  assert.notDeepEqual(auditWallet({ ...wallet, balance: 71 }, journal), []);
  assert.notDeepEqual(auditWallet(wallet, [journal[0]!, journal[0]!]), []);
  const unbalanced = { ...c.entry, postings: [{ account: REVENUE, amount: 30 }] };
  assert.ok(auditWallet(wallet, [journal[0]!, unbalanced]).some((f) => f.problem === 'unbalanced entry'));
  const r1 = must(
    reserve(wallet, { reservationId: 'r', amount: 10, expires_at: iso(T0) }, { entryId: 'a', now: iso(T0) }),
  );
  const rel = must(release(r1.wallet, r1.value, {}, { entryId: 'b', now: iso(T0) }, T0 - 1));
  const twice = { ...rel.entry, seq: rel.entry.seq + 1 };
  const findings = auditWallet(wallet, [...journal, r1.entry, rel.entry, twice]);
  assert.ok(findings.some((f) => f.problem.includes('resolved twice')));
});
