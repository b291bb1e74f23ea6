/**
 * Where CreditService keeps its state in the store (all under `/photoncloud/creditservice/`):
 *
 *   wallets/<project_id>                     wallet record (balances, journal length)
 *   journal/<project_id>/<seq, 12 digits>    one balanced journal entry per mutation
 *   reservations/<rsv-id>                    reservation record
 *   expiry/<deadline ms, 15 digits>/<rsv-id> index of active reservations by deadline (for the sweeper)
 *   quotas/<project_id>                      limits and usage
 *   ops/<sha256(principal, Idempotency-Key)> recorded outcome of an idempotent request (leased, 24 h)
 */
import { bytes, prefixEnd } from '@photoncloud/store';

/** Root of every CreditService key. */
export const ROOT = '/photoncloud/creditservice/';

/** Wallet record key. */
export function walletKey(projectId: string): Uint8Array {
  return bytes(`${ROOT}wallets/${projectId}`);
}

/** Prefix of every wallet. */
export const WALLETS_PREFIX = bytes(`${ROOT}wallets/`);

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Journal entry key. */
export function journalKey(projectId: string, seq: number): Uint8Array {
  return bytes(`${ROOT}journal/${projectId}/${pad(seq, 12)}`);
}

/** Range of a wallet's journal entries with seq in [from, to). */
export function journalRange(
  projectId: string,
  from: number,
  to: number,
): { key: Uint8Array; rangeEnd: Uint8Array } {
  return { key: journalKey(projectId, from), rangeEnd: journalKey(projectId, to) };
}

/** Range of a wallet's whole journal. */
export function journalPrefix(projectId: string): { key: Uint8Array; rangeEnd: Uint8Array } {
  const key = bytes(`${ROOT}journal/${projectId}/`);
  return { key, rangeEnd: prefixEnd(key) };
}

/** Reservation record key. */
export function reservationKey(id: string): Uint8Array {
  return bytes(`${ROOT}reservations/${id}`);
}

/** Expiry index key of a reservation. */
export function expiryKey(deadlineMs: number, id: string): Uint8Array {
  return bytes(`${ROOT}expiry/${pad(deadlineMs, 15)}/${id}`);
}

/** Range of expiry index keys with a deadline before `nowMs` (inclusive). */
export function dueRange(nowMs: number): { key: Uint8Array; rangeEnd: Uint8Array } {
  return { key: bytes(`${ROOT}expiry/`), rangeEnd: bytes(`${ROOT}expiry/${pad(nowMs + 1, 15)}`) };
}

/** The reservation ID of an expiry index key. */
export function idOfExpiryKey(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** Quota record key. */
export function quotaKey(projectId: string): Uint8Array {
  return bytes(`${ROOT}quotas/${projectId}`);
}

/** Idempotency record key (`hash` is hex). */
export function opKey(hash: string): Uint8Array {
  return bytes(`${ROOT}ops/${hash}`);
}
