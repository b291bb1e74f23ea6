/**
 * CreditService's state operations on the store: wallets, the journal, reservations (with their expiry
 * index) and quotas. Every mutation is one `OpRunner` operation: one transaction, guarded by the mod
 * revisions of the records it read, carrying the idempotency record of the request when it has one.
 */
import { randomBytes } from 'node:crypto';
import { ApiError, NotFoundError } from '@photoncloud/errors';
import type { ErrorCode } from '@photoncloud/errors';
import { rfc3339 } from '@photoncloud/http-kit';
import { prefixEnd, text } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';
import type { Quota, Reservation, Transaction, Wallet } from '@photoncloud/creditservice-api';
import * as ledger from '../core/ledger.js';
import type { Decision, JournalEntry, Rejection, ReservationState, WalletState } from '../core/ledger.js';
import * as quotas from '../core/quota.js';
import type { QuotaRejection, QuotaState } from '../core/quota.js';
import {
  WALLETS_PREFIX,
  dueRange,
  expiryKey,
  idOfExpiryKey,
  journalKey,
  journalRange,
  quotaKey,
  reservationKey,
  walletKey,
} from './keys.js';
import { OpRunner } from './op-runner.js';
import type { OpRef, Outcome, Plan, RunResult, Snapshot } from './op-runner.js';

/** A new random ID with `prefix` (`rsv-`, `txn-`). */
export function newId(prefix: string): string {
  return `${prefix}${randomBytes(8).toString('hex')}`;
}

/** The wire form of a wallet. */
export function walletToWire(w: WalletState): Wallet {
  return {
    project_id: w.project_id,
    org_id: w.org_id,
    balance: w.balance,
    reserved: w.reserved,
    available: ledger.availableOf(w),
    currency: w.currency,
    status: w.status,
    created_at: w.created_at,
    updated_at: w.updated_at,
  };
}

/** The wire form of a journal entry. */
export function entryToWire(e: JournalEntry): Transaction {
  const { postings, ...rest } = e;
  return { ...rest, entries: postings };
}

/** The wire form of a reservation. */
export function reservationToWire(r: ReservationState): Reservation {
  return { ...r };
}

/** The wire form of a quota. */
export function quotaToWire(q: QuotaState): Quota {
  return { ...q };
}

const REJECTION_STATUS: Record<
  Rejection['code'] | QuotaRejection['code'],
  { status: number; code: ErrorCode }
> = {
  insufficient_credits: { status: 409, code: 'CONFLICT' },
  balance_overflow: { status: 409, code: 'CONFLICT' },
  wallet_suspended: { status: 409, code: 'CONFLICT' },
  reservation_not_active: { status: 409, code: 'CONFLICT' },
  reservation_expired: { status: 409, code: 'CONFLICT' },
  currency_mismatch: { status: 409, code: 'CONFLICT' },
  // The reserved amount never changes: the same request can never succeed, so it is a bad request.
  exceeds_reserved: { status: 400, code: 'VALIDATION_ERROR' },
  quota_exceeded: { status: 409, code: 'CONFLICT' },
  release_exceeds_usage: { status: 409, code: 'CONFLICT' },
};

function refused(r: Rejection | QuotaRejection): Outcome {
  const m = REJECTION_STATUS[r.code];
  return { status: m.status, error: { code: m.code, message: r.message, details: r.details } };
}

/** Options of `CreditStore`. */
export interface CreditStoreOptions {
  store: Store;
  /** Milliseconds since the epoch; replaced in tests. */
  clock?: () => number;
  /** New IDs (`prefix` is `rsv-` or `txn-`); default random. Tests pin them to the guide's. */
  newId?: (prefix: string) => string;
}

/** What a mutation answered. */
export type Result = RunResult;

/** Every state operation of CreditService. */
export class CreditStore {
  private readonly store: Store;
  private readonly runner: OpRunner;
  private readonly clock: () => number;
  private readonly newId: (prefix: string) => string;

  constructor(opts: CreditStoreOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? Date.now;
    this.newId = opts.newId ?? newId;
    this.runner = new OpRunner({ store: opts.store, clock: this.clock });
  }

  private now(): string {
    return rfc3339(new Date(this.clock()));
  }

  private async getJson<T>(key: Uint8Array): Promise<{ value: T; modRevision: number } | undefined> {
    const res = await this.store.range({ key });
    const kv = res.kvs[0];
    return kv === undefined
      ? undefined
      : { value: JSON.parse(text(kv.value)) as T, modRevision: kv.modRevision };
  }

  /** Wallet plan for a decision on a wallet: write wallet + entry (+ reservation), answer `ok`. */
  private walletPlan<T>(
    d: Decision<T>,
    ok: (d: Extract<Decision<T>, { ok: true }>) => Outcome,
    extra: (d: Extract<Decision<T>, { ok: true }>) => Plan['puts'] = () => [],
    deletes: Uint8Array[] = [],
  ): Plan {
    if (d.ok) {
      return {
        puts: [
          { key: walletKey(d.wallet.project_id), value: d.wallet },
          { key: journalKey(d.wallet.project_id, d.entry.seq), value: d.entry },
          ...extra(d),
        ],
        deletes,
        outcome: ok(d),
      };
    }
    const puts: Plan['puts'] = [];
    if (d.wallet !== undefined) puts.push({ key: walletKey(d.wallet.project_id), value: d.wallet });
    if (d.entry !== undefined)
      puts.push({ key: journalKey(d.entry.project_id, d.entry.seq), value: d.entry });
    if (d.reservation !== undefined)
      puts.push({ key: reservationKey(d.reservation.id), value: d.reservation });
    return { puts, deletes: puts.length > 0 ? deletes : [], outcome: refused(d.rejection) };
  }

  private wallet(snap: Snapshot, projectId: string): WalletState {
    const w = snap.json<WalletState>(walletKey(projectId));
    if (w === undefined) throw new NotFoundError('wallet', projectId);
    return w;
  }

  // ---- wallets ------------------------------------------------------------------------------------

  /** Open a wallet (201), or 409 when the project has one. */
  async createWallet(
    input: { project_id: string; org_id: string; initial_balance?: number; currency?: string },
    op?: OpRef,
  ): Promise<Result> {
    const key = walletKey(input.project_id);
    const entryId = this.newId('txn-');
    return this.runner.run(input.project_id, [key], op, (snap) => {
      if (snap.json<WalletState>(key) !== undefined) {
        return {
          puts: [],
          deletes: [],
          outcome: {
            status: 409,
            error: {
              code: 'CONFLICT',
              message: `Wallet for project ${input.project_id} already exists`,
              details: { reason: 'WALLET_EXISTS', project_id: input.project_id },
            },
          },
        };
      }
      const { wallet, entry } = ledger.openWallet(
        {
          project_id: input.project_id,
          org_id: input.org_id,
          currency: input.currency ?? 'JPY',
          initial_balance: input.initial_balance ?? 0,
        },
        { entryId, now: this.now() },
      );
      const puts: Plan['puts'] = [{ key, value: wallet }];
      if (entry !== undefined) puts.push({ key: journalKey(wallet.project_id, entry.seq), value: entry });
      return { puts, deletes: [], outcome: { status: 201, data: walletToWire(wallet) } };
    });
  }

  /** A wallet, or undefined. */
  async getWallet(projectId: string): Promise<WalletState | undefined> {
    return (await this.getJson<WalletState>(walletKey(projectId)))?.value;
  }

  /** Every wallet matching `filter`, in project order. */
  async listWallets(filter: (w: WalletState) => boolean): Promise<WalletState[]> {
    const res = await this.store.range({ key: WALLETS_PREFIX, rangeEnd: prefixEnd(WALLETS_PREFIX) });
    return res.kvs.map((kv) => JSON.parse(text(kv.value)) as WalletState).filter(filter);
  }

  /** Add credits. */
  async topUp(
    projectId: string,
    body: { amount: number; description?: string },
    op?: OpRef,
  ): Promise<Result> {
    const key = walletKey(projectId);
    const entryId = this.newId('txn-');
    return this.runner.run(projectId, [key], op, (snap) => {
      const d = ledger.topUp(this.wallet(snap, projectId), body, { entryId, now: this.now() });
      return this.walletPlan(d, (ok) => ({
        status: 200,
        data: { wallet: walletToWire(ok.wallet), transaction: entryToWire(ok.entry) },
      }));
    });
  }

  /** Debit available credits directly. */
  async charge(
    projectId: string,
    body: { amount: number; description?: string; resource_id?: string; resource_type?: string },
    op?: OpRef,
  ): Promise<Result> {
    const key = walletKey(projectId);
    const entryId = this.newId('txn-');
    return this.runner.run(projectId, [key], op, (snap) => {
      const d = ledger.charge(this.wallet(snap, projectId), body, { entryId, now: this.now() });
      return this.walletPlan(d, (ok) => ({
        status: 200,
        data: { wallet: walletToWire(ok.wallet), transaction: entryToWire(ok.entry) },
      }));
    });
  }

  /** One page of a wallet's journal; undefined when there is no such wallet. */
  async transactions(
    projectId: string,
    page: { limit: number; offset: number },
    order: 'asc' | 'desc',
  ): Promise<{ items: Transaction[]; total: number } | undefined> {
    const w = await this.getWallet(projectId);
    if (w === undefined) return undefined;
    const total = w.seq;
    // Entries are dense (seq 1..total), so a page is a key range: no scanning past the offset.
    let from: number;
    let to: number;
    if (order === 'asc') {
      from = page.offset + 1;
      to = Math.min(total, page.offset + page.limit) + 1;
    } else {
      to = total - page.offset + 1;
      from = Math.max(1, to - page.limit);
    }
    if (from >= to) return { items: [], total };
    const res = await this.store.range(journalRange(projectId, from, to));
    const items = res.kvs.map((kv) => entryToWire(JSON.parse(text(kv.value)) as JournalEntry));
    if (order === 'desc') items.reverse();
    return { items, total };
  }

  /** Every journal entry of a wallet, in order (audits and tests). */
  async journal(projectId: string): Promise<JournalEntry[]> {
    const w = await this.getWallet(projectId);
    if (w === undefined) return [];
    const res = await this.store.range(journalRange(projectId, 1, w.seq + 1));
    return res.kvs.map((kv) => JSON.parse(text(kv.value)) as JournalEntry);
  }

  // ---- reservations ------------------------------------------------------------------------------

  /** Hold credits (201 with the reservation). */
  async reserve(
    projectId: string,
    body: {
      amount: number;
      description?: string;
      resource_type?: string;
      resource_id?: string;
      ttl_seconds: number;
    },
    op?: OpRef,
  ): Promise<Result> {
    const key = walletKey(projectId);
    const entryId = this.newId('txn-');
    const reservationId = this.newId('rsv-');
    const rKey = reservationKey(reservationId);
    return this.runner.run(projectId, [key, rKey], op, (snap) => {
      const nowMs = this.clock();
      const expiresAt = rfc3339(new Date(nowMs + body.ttl_seconds * 1000));
      const input: ledger.ReserveInput = { reservationId, amount: body.amount, expires_at: expiresAt };
      if (body.description !== undefined) input.description = body.description;
      if (body.resource_type !== undefined) input.resource_type = body.resource_type;
      if (body.resource_id !== undefined) input.resource_id = body.resource_id;
      const d = ledger.reserve(this.wallet(snap, projectId), input, {
        entryId,
        now: rfc3339(new Date(nowMs)),
      });
      return this.walletPlan(
        d,
        (ok) => ({ status: 201, data: reservationToWire(ok.value) }),
        (ok) => [
          { key: rKey, value: ok.value },
          {
            key: expiryKey(Date.parse(ok.value.expires_at), reservationId),
            value: { project_id: projectId },
          },
        ],
      );
    });
  }

  /** A reservation, or undefined. */
  async getReservation(id: string): Promise<ReservationState | undefined> {
    return (await this.getJson<ReservationState>(reservationKey(id)))?.value;
  }

  /** Resolve a reservation (commit, release or expire) in one operation. */
  private async resolve(
    r: ReservationState,
    op: OpRef | undefined,
    decide: (
      w: WalletState,
      r: ReservationState,
      ctx: ledger.EntryContext,
      nowMs: number,
    ) => Decision<ReservationState>,
  ): Promise<Result> {
    const wKey = walletKey(r.project_id);
    const rKey = reservationKey(r.id);
    const entryId = this.newId('txn-');
    return this.runner.run(r.project_id, [wKey, rKey], op, (snap) => {
      const current = snap.json<ReservationState>(rKey);
      if (current === undefined) throw new NotFoundError('reservation', r.id);
      const nowMs = this.clock();
      const d = decide(
        this.wallet(snap, r.project_id),
        current,
        { entryId, now: rfc3339(new Date(nowMs)) },
        nowMs,
      );
      return this.walletPlan(
        d,
        (ok) => ({ status: 200, data: reservationToWire(ok.value) }),
        (ok) => [{ key: rKey, value: ok.value }],
        [expiryKey(Date.parse(current.expires_at), current.id)],
      );
    });
  }

  /** Commit a reservation (`actual_amount` ≤ reserved; the rest is released). */
  async commit(
    r: ReservationState,
    body: { actual_amount?: number; resource_id?: string },
    op?: OpRef,
  ): Promise<Result> {
    return this.resolve(r, op, (w, cur, ctx, nowMs) => ledger.commit(w, cur, body, ctx, nowMs));
  }

  /** Release a reservation. */
  async release(r: ReservationState, body: { reason?: string }, op?: OpRef): Promise<Result> {
    return this.resolve(r, op, (w, cur, ctx, nowMs) => ledger.release(w, cur, body, ctx, nowMs));
  }

  /**
   * Expire active reservations whose deadline has passed (at most `limit`); returns how many this
   * call expired. Safe with several instances sweeping at once: each expiry is a guarded transaction,
   * so a reservation another instance (or a commit) resolved first is left alone.
   */
  async sweepExpired(limit = 100): Promise<number> {
    const nowMs = this.clock();
    const res = await this.store.range({ ...dueRange(nowMs), limit, keysOnly: true });
    let expired = 0;
    for (const kv of res.kvs) {
      const id = idOfExpiryKey(text(kv.key));
      const r = await this.getReservation(id);
      if (r === undefined) {
        // Index without record: cannot happen through this code; drop it so the sweeper moves on.
        await this.store.deleteRange({ key: kv.key });
        continue;
      }
      const out = await this.resolve(r, undefined, (w, cur, ctx, now) => {
        if (!ledger.isDue(cur, now)) {
          return {
            ok: false,
            rejection: { code: 'reservation_not_active', message: 'not due', details: {} },
          };
        }
        return ledger.expire(w, cur, ctx);
      });
      if (out.outcome.status === 200) expired++;
    }
    return expired;
  }

  // ---- quotas -------------------------------------------------------------------------------------

  /** A project's quota (empty when never set) and its ETag version (0 when never written). */
  async getQuota(projectId: string): Promise<{ quota: QuotaState; modRevision: number }> {
    const got = await this.getJson<QuotaState>(quotaKey(projectId));
    if (got !== undefined) return { quota: got.value, modRevision: got.modRevision };
    return { quota: quotas.emptyQuota(projectId, this.now()), modRevision: 0 };
  }

  /** Replace a project's limits; `check` sees the current version first (If-Match). */
  async putQuota(
    projectId: string,
    limits: Record<string, number>,
    orgId: string | undefined,
    check: (modRevision: number | undefined) => void,
  ): Promise<{ quota: QuotaState; revision: number }> {
    const key = quotaKey(projectId);
    let revision = 0;
    const res = await this.runner.run(`quota:${projectId}`, [key], undefined, (snap) => {
      const cur = snap.json<QuotaState>(key);
      check(cur === undefined ? undefined : snap.modRevision(key));
      const q = quotas.setLimits(cur ?? quotas.emptyQuota(projectId, this.now()), limits, this.now(), orgId);
      return { puts: [{ key, value: q }], deletes: [], outcome: { status: 200, data: q } };
    });
    revision = res.revision ?? 0;
    return { quota: (res.outcome as { data: QuotaState }).data, revision };
  }

  /** Consume (or with `release`, give back) usage against a project's limits, all or nothing. */
  async changeUsage(
    projectId: string,
    resources: Record<string, number>,
    direction: 'consume' | 'release',
    op?: OpRef,
  ): Promise<Result> {
    const key = quotaKey(projectId);
    return this.runner.run(`quota:${projectId}`, [key], op, (snap) => {
      const cur = snap.json<QuotaState>(key) ?? quotas.emptyQuota(projectId, this.now());
      const d =
        direction === 'consume'
          ? quotas.consume(cur, resources, this.now())
          : quotas.releaseUsage(cur, resources, this.now());
      if (!d.ok) return { puts: [], deletes: [], outcome: refused(d.rejection) };
      return {
        puts: [{ key, value: d.quota }],
        deletes: [],
        outcome: { status: 200, data: quotaToWire(d.quota) },
      };
    });
  }
}

/** Throw the error of an error outcome; return the data of a success. */
export function unwrap(outcome: Outcome): unknown {
  if ('error' in outcome) {
    throw new ApiError(outcome.error.code, outcome.error.message, { details: outcome.error.details });
  }
  return outcome.data;
}
