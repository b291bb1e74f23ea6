/**
 * The ledger rules of CreditService, pure: no clock, no I/O, no randomness (IDs and time come in).
 *
 * Double entry: every mutation is one journal entry whose postings sum to zero. Each wallet has two
 * accounts, `available` and `reserved`; money enters from the external `deposits` account and leaves to
 * the external `revenue` account. Hence, per wallet, at every moment:
 *   balance   = Σ postings to its available and reserved accounts
 *   reserved  = Σ postings to its reserved account
 *   available = balance − reserved ≥ 0
 * The wallet record carries these sums (so a read is one key) and the journal carries the postings (so
 * the sums can be recomputed and audited); both are written in the same store transaction.
 *
 * A reservation moves money from available to reserved; it is resolved exactly once: committed
 * (the actual amount goes to revenue, the rest back to available), released or expired (everything
 * back to available).
 */

/** Largest single amount accepted (keeps every sum far inside the safe-integer range). */
export const MAX_AMOUNT = 1_000_000_000_000_000;
/** Largest wallet balance. */
export const MAX_BALANCE = Number.MAX_SAFE_INTEGER;

/** A wallet's state (`available` is derived). */
export interface WalletState {
  project_id: string;
  org_id: string;
  currency: string;
  status: 'active' | 'suspended';
  balance: number;
  reserved: number;
  /** Number of journal entries written so far; the next entry gets `seq + 1`. */
  seq: number;
  created_at: string;
  updated_at: string;
}

/** Kinds of journal entries. */
export type EntryType = 'deposit' | 'charge' | 'reserve' | 'commit' | 'release' | 'expire';

/** Ledger accounts: per project (`project:<id>:available|reserved`) and external. */
export type Account = string;

/** One side of a journal entry. */
export interface Posting {
  account: Account;
  /** Signed; the postings of an entry sum to zero. */
  amount: number;
}

/** One journal entry: a balanced set of postings, plus what it was for. */
export interface JournalEntry {
  id: string;
  project_id: string;
  /** Position in the wallet's journal, 1-based and dense. */
  seq: number;
  type: EntryType;
  /** Effect on the wallet balance (deposit +, charge/commit −, reserve/release/expire 0). */
  amount: number;
  /** Effect on the available credits. */
  available_delta: number;
  /** Effect on the reserved credits. */
  reserved_delta: number;
  balance_after: number;
  available_after: number;
  description?: string;
  resource_id?: string;
  resource_type?: string;
  reservation_id?: string;
  timestamp: string;
  postings: Posting[];
}

/** Reservation states; every state but `active` is final. */
export type ReservationStatus = 'active' | 'committed' | 'released' | 'expired';

/** A hold on credits. */
export interface ReservationState {
  id: string;
  project_id: string;
  org_id: string;
  amount: number;
  status: ReservationStatus;
  description?: string;
  resource_type?: string;
  resource_id?: string;
  created_at: string;
  expires_at: string;
  /** When it left `active`. */
  resolved_at?: string;
  /** For `committed`: the amount charged. */
  committed_amount?: number;
  /** For `released`: the reason given. */
  reason?: string;
}

/** The external account credits come from. */
export const DEPOSITS: Account = 'external:deposits';
/** The external account charged credits go to. */
export const REVENUE: Account = 'external:revenue';

/** The available-credits account of a project. */
export function availableAccount(projectId: string): Account {
  return `project:${projectId}:available`;
}

/** The reserved-credits account of a project. */
export function reservedAccount(projectId: string): Account {
  return `project:${projectId}:reserved`;
}

/** Available credits of a wallet. */
export function availableOf(w: Pick<WalletState, 'balance' | 'reserved'>): number {
  return w.balance - w.reserved;
}

/** Why a ledger operation was refused; the edges map `code` to an API error. */
export interface Rejection {
  code:
    | 'insufficient_credits'
    | 'balance_overflow'
    | 'wallet_suspended'
    | 'reservation_not_active'
    | 'reservation_expired'
    | 'exceeds_reserved'
    | 'currency_mismatch';
  message: string;
  details: Record<string, unknown>;
}

/** Result of an operation: the new states and the entry, or a refusal (possibly with state changes). */
export type Decision<T> =
  | { ok: true; wallet: WalletState; entry: JournalEntry; value: T }
  /**
   * A refusal. `wallet`/`entry`/`reservation` are set when the refusal still changes state: a commit on
   * a reservation past its deadline expires it in the same transaction.
   */
  | {
      ok: false;
      rejection: Rejection;
      wallet?: WalletState;
      entry?: JournalEntry;
      reservation?: ReservationState;
    };

/** What every entry needs from the caller. */
export interface EntryContext {
  /** ID of the journal entry (`txn-…`). */
  entryId: string;
  /** RFC 3339 time of the operation. */
  now: string;
}

/** Sum of postings: zero for a balanced entry. */
export function postingSum(postings: readonly Posting[]): number {
  let s = 0;
  for (const p of postings) s += p.amount;
  return s;
}

function optional<T extends object>(fields: Record<string, string | undefined>): T {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** Build the entry for `postings` and the wallet after it; throws on an unbalanced entry (a bug). */
function post(
  wallet: WalletState,
  ctx: EntryContext,
  type: EntryType,
  postings: Posting[],
  extra: { description?: string; resource_id?: string; resource_type?: string; reservation_id?: string },
): { wallet: WalletState; entry: JournalEntry } {
  if (postingSum(postings) !== 0) throw new Error(`unbalanced ${type} entry`);
  const avail = availableAccount(wallet.project_id);
  const resv = reservedAccount(wallet.project_id);
  let availableDelta = 0;
  let reservedDelta = 0;
  for (const p of postings) {
    if (p.account === avail) availableDelta += p.amount;
    else if (p.account === resv) reservedDelta += p.amount;
  }
  const next: WalletState = {
    ...wallet,
    balance: wallet.balance + availableDelta + reservedDelta,
    reserved: wallet.reserved + reservedDelta,
    seq: wallet.seq + 1,
    updated_at: ctx.now,
  };
  if (availableOf(next) < 0 || next.reserved < 0) throw new Error(`${type} would make the wallet negative`);
  const entry: JournalEntry = {
    id: ctx.entryId,
    project_id: wallet.project_id,
    seq: next.seq,
    type,
    amount: availableDelta + reservedDelta,
    available_delta: availableDelta,
    reserved_delta: reservedDelta,
    balance_after: next.balance,
    available_after: availableOf(next),
    ...optional<Partial<JournalEntry>>(extra),
    timestamp: ctx.now,
    postings,
  };
  return { wallet: next, entry };
}

/** Input of `openWallet`. */
export interface OpenWalletInput {
  project_id: string;
  org_id: string;
  currency: string;
  initial_balance: number;
}

/** A new wallet, and the deposit entry of its initial balance (none when it is 0). */
export function openWallet(
  input: OpenWalletInput,
  ctx: EntryContext,
): { wallet: WalletState; entry?: JournalEntry } {
  const wallet: WalletState = {
    project_id: input.project_id,
    org_id: input.org_id,
    currency: input.currency,
    status: 'active',
    balance: 0,
    reserved: 0,
    seq: 0,
    created_at: ctx.now,
    updated_at: ctx.now,
  };
  if (input.initial_balance === 0) return { wallet };
  return post(
    wallet,
    ctx,
    'deposit',
    [
      { account: DEPOSITS, amount: -input.initial_balance },
      { account: availableAccount(input.project_id), amount: input.initial_balance },
    ],
    { description: 'Initial balance' },
  );
}

function insufficient(wallet: WalletState, requested: number): Rejection {
  return {
    code: 'insufficient_credits',
    message: `Insufficient credits: ${requested} requested, ${availableOf(wallet)} available`,
    details: {
      reason: 'INSUFFICIENT_CREDITS',
      project_id: wallet.project_id,
      requested,
      available: availableOf(wallet),
    },
  };
}

function suspended(wallet: WalletState): Rejection | undefined {
  if (wallet.status === 'active') return undefined;
  return {
    code: 'wallet_suspended',
    message: `Wallet ${wallet.project_id} is ${wallet.status}`,
    details: { reason: 'WALLET_SUSPENDED', project_id: wallet.project_id, status: wallet.status },
  };
}

/** Add credits (from the external deposits account). */
export function topUp(
  wallet: WalletState,
  input: { amount: number; description?: string },
  ctx: EntryContext,
): Decision<null> {
  if (wallet.balance + input.amount > MAX_BALANCE) {
    return {
      ok: false,
      rejection: {
        code: 'balance_overflow',
        message: `Balance would exceed ${MAX_BALANCE}`,
        details: { reason: 'BALANCE_OVERFLOW', balance: wallet.balance, amount: input.amount },
      },
    };
  }
  const r = post(
    wallet,
    ctx,
    'deposit',
    [
      { account: DEPOSITS, amount: -input.amount },
      { account: availableAccount(wallet.project_id), amount: input.amount },
    ],
    { description: input.description },
  );
  return { ok: true, ...r, value: null };
}

/** Direct debit of available credits to revenue. */
export function charge(
  wallet: WalletState,
  input: { amount: number; description?: string; resource_id?: string; resource_type?: string },
  ctx: EntryContext,
): Decision<null> {
  const blocked = suspended(wallet);
  if (blocked !== undefined) return { ok: false, rejection: blocked };
  if (input.amount > availableOf(wallet)) return { ok: false, rejection: insufficient(wallet, input.amount) };
  const r = post(
    wallet,
    ctx,
    'charge',
    [
      { account: availableAccount(wallet.project_id), amount: -input.amount },
      { account: REVENUE, amount: input.amount },
    ],
    { description: input.description, resource_id: input.resource_id, resource_type: input.resource_type },
  );
  return { ok: true, ...r, value: null };
}

/** Input of `reserve`. */
export interface ReserveInput {
  reservationId: string;
  amount: number;
  /** Absolute deadline, RFC 3339. */
  expires_at: string;
  description?: string;
  resource_type?: string;
  resource_id?: string;
}

/** Hold `amount` of the available credits until committed, released or expired. */
export function reserve(
  wallet: WalletState,
  input: ReserveInput,
  ctx: EntryContext,
): Decision<ReservationState> {
  const blocked = suspended(wallet);
  if (blocked !== undefined) return { ok: false, rejection: blocked };
  if (input.amount > availableOf(wallet)) return { ok: false, rejection: insufficient(wallet, input.amount) };
  const r = post(
    wallet,
    ctx,
    'reserve',
    [
      { account: availableAccount(wallet.project_id), amount: -input.amount },
      { account: reservedAccount(wallet.project_id), amount: input.amount },
    ],
    {
      description: input.description,
      resource_id: input.resource_id,
      resource_type: input.resource_type,
      reservation_id: input.reservationId,
    },
  );
  const reservation: ReservationState = {
    id: input.reservationId,
    project_id: wallet.project_id,
    org_id: wallet.org_id,
    amount: input.amount,
    status: 'active',
    ...optional<Partial<ReservationState>>({
      description: input.description,
      resource_type: input.resource_type,
      resource_id: input.resource_id,
    }),
    created_at: ctx.now,
    expires_at: input.expires_at,
  };
  return { ok: true, ...r, value: reservation };
}

/** True when `r` is active but its deadline has passed at `nowMs`. */
export function isDue(r: ReservationState, nowMs: number): boolean {
  return r.status === 'active' && Date.parse(r.expires_at) <= nowMs;
}

function notActive(r: ReservationState): Rejection {
  return {
    code: 'reservation_not_active',
    message: `Reservation ${r.id} is already ${r.status}`,
    details: { reason: 'RESERVATION_NOT_ACTIVE', reservation_id: r.id, status: r.status },
  };
}

/** Give the whole hold back to available; `type` says whether by request or by deadline. */
function unhold(
  wallet: WalletState,
  r: ReservationState,
  ctx: EntryContext,
  type: 'release' | 'expire',
  reason: string | undefined,
): { wallet: WalletState; entry: JournalEntry; reservation: ReservationState } {
  const out = post(
    wallet,
    ctx,
    type,
    [
      { account: reservedAccount(wallet.project_id), amount: -r.amount },
      { account: availableAccount(wallet.project_id), amount: r.amount },
    ],
    {
      description: reason ?? (type === 'expire' ? 'Reservation expired' : undefined),
      reservation_id: r.id,
      resource_id: r.resource_id,
      resource_type: r.resource_type,
    },
  );
  const reservation: ReservationState = {
    ...r,
    status: type === 'expire' ? 'expired' : 'released',
    resolved_at: ctx.now,
    ...(reason === undefined ? {} : { reason }),
  };
  return { ...out, reservation };
}

/** Expire `r` (the sweeper, or a late commit/release). Refuses when it is not active. */
export function expire(
  wallet: WalletState,
  r: ReservationState,
  ctx: EntryContext,
): Decision<ReservationState> {
  if (r.status !== 'active') return { ok: false, rejection: notActive(r) };
  const out = unhold(wallet, r, ctx, 'expire', undefined);
  return { ok: true, wallet: out.wallet, entry: out.entry, value: out.reservation };
}

function expiredOnArrival(
  wallet: WalletState,
  r: ReservationState,
  ctx: EntryContext,
  nowMs: number,
): Decision<ReservationState> | undefined {
  if (!isDue(r, nowMs)) return undefined;
  const out = unhold(wallet, r, ctx, 'expire', undefined);
  return {
    ok: false,
    rejection: {
      code: 'reservation_expired',
      message: `Reservation ${r.id} expired at ${r.expires_at}`,
      details: { reason: 'RESERVATION_EXPIRED', reservation_id: r.id, expires_at: r.expires_at },
    },
    wallet: out.wallet,
    entry: out.entry,
    reservation: out.reservation,
  };
}

/**
 * Commit `r`: `actual_amount` (≤ the reserved amount; default all of it) goes to revenue, the rest back
 * to available. A reservation past its deadline is expired instead (and the commit refused).
 */
export function commit(
  wallet: WalletState,
  r: ReservationState,
  input: { actual_amount?: number; resource_id?: string },
  ctx: EntryContext,
  nowMs: number,
): Decision<ReservationState> {
  if (r.status !== 'active') return { ok: false, rejection: notActive(r) };
  const late = expiredOnArrival(wallet, r, ctx, nowMs);
  if (late !== undefined) return late;
  const actual = input.actual_amount ?? r.amount;
  if (actual > r.amount) {
    return {
      ok: false,
      rejection: {
        code: 'exceeds_reserved',
        message: `actual_amount ${actual} exceeds the reserved amount ${r.amount}`,
        details: {
          field: 'actual_amount',
          constraint: 'maximum',
          reservation_id: r.id,
          reserved: r.amount,
          actual_amount: actual,
        },
      },
    };
  }
  const resourceId = input.resource_id ?? r.resource_id;
  const postings: Posting[] = [{ account: reservedAccount(wallet.project_id), amount: -r.amount }];
  if (actual > 0) postings.push({ account: REVENUE, amount: actual });
  if (r.amount - actual > 0)
    postings.push({ account: availableAccount(wallet.project_id), amount: r.amount - actual });
  const out = post(wallet, ctx, 'commit', postings, {
    description: r.description,
    resource_id: resourceId,
    resource_type: r.resource_type,
    reservation_id: r.id,
  });
  const reservation: ReservationState = {
    ...r,
    status: 'committed',
    resolved_at: ctx.now,
    committed_amount: actual,
    ...(resourceId === undefined ? {} : { resource_id: resourceId }),
  };
  return { ok: true, ...out, value: reservation };
}

/** Release `r`: the whole hold back to available. A reservation past its deadline is expired instead. */
export function release(
  wallet: WalletState,
  r: ReservationState,
  input: { reason?: string },
  ctx: EntryContext,
  nowMs: number,
): Decision<ReservationState> {
  if (r.status !== 'active') return { ok: false, rejection: notActive(r) };
  const late = expiredOnArrival(wallet, r, ctx, nowMs);
  if (late !== undefined) return late;
  const out = unhold(wallet, r, ctx, 'release', input.reason);
  return { ok: true, wallet: out.wallet, entry: out.entry, value: out.reservation };
}

/** Account balances after replaying `entries` (in order); for audits and tests. */
export function replayJournal(entries: readonly JournalEntry[]): Map<Account, number> {
  const balances = new Map<Account, number>();
  for (const e of entries) {
    for (const p of e.postings) balances.set(p.account, (balances.get(p.account) ?? 0) + p.amount);
  }
  return balances;
}

/** A problem found by `auditWallet`. */
export interface AuditFinding {
  seq?: number;
  problem: string;
}

/**
 * Check a wallet against its journal: entries dense from 1, each balanced, the running available never
 * negative, running sums matching each entry's `*_after`, and the final sums matching the wallet.
 * Also: every reservation resolved at most once.
 */
export function auditWallet(wallet: WalletState, entries: readonly JournalEntry[]): AuditFinding[] {
  const findings: AuditFinding[] = [];
  const avail = availableAccount(wallet.project_id);
  const resv = reservedAccount(wallet.project_id);
  let a = 0;
  let r = 0;
  const resolved = new Set<string>();
  entries.forEach((e, i) => {
    if (e.seq !== i + 1) findings.push({ seq: e.seq, problem: `expected seq ${i + 1}` });
    if (postingSum(e.postings) !== 0) findings.push({ seq: e.seq, problem: 'unbalanced entry' });
    for (const p of e.postings) {
      if (p.account === avail) a += p.amount;
      else if (p.account === resv) r += p.amount;
      else if (p.account !== DEPOSITS && p.account !== REVENUE)
        findings.push({ seq: e.seq, problem: `posting to foreign account ${p.account}` });
    }
    if (a < 0) findings.push({ seq: e.seq, problem: `available went negative (${a})` });
    if (r < 0) findings.push({ seq: e.seq, problem: `reserved went negative (${r})` });
    if (a + r !== e.balance_after || a !== e.available_after)
      findings.push({ seq: e.seq, problem: 'running sums differ from balance_after/available_after' });
    if (e.type === 'commit' || e.type === 'release' || e.type === 'expire') {
      const id = e.reservation_id ?? '';
      if (resolved.has(id)) findings.push({ seq: e.seq, problem: `reservation ${id} resolved twice` });
      resolved.add(id);
    }
  });
  if (entries.length !== wallet.seq)
    findings.push({ problem: `wallet.seq ${wallet.seq} ≠ ${entries.length}` });
  if (a + r !== wallet.balance) findings.push({ problem: `balance ${wallet.balance} ≠ Σ entries ${a + r}` });
  if (r !== wallet.reserved) findings.push({ problem: `reserved ${wallet.reserved} ≠ Σ entries ${r}` });
  return findings;
}
