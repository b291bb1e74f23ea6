/**
 * etcd's key-range convention as a value: absent/empty `rangeEnd` → the single key; `\0` → every
 * key >= key; otherwise the half-open interval [key, rangeEnd).
 */
import { compareBytes } from '@photoncloud/store';
import { MAX_KEY_BYTES } from './limits.js';

/** A key range; `end === null` means unbounded above. */
export interface KeyInterval {
  start: Uint8Array;
  end: Uint8Array | null;
  /** True for a single-key request (then `end` is unused). */
  single: boolean;
}

/** Build the interval etcd means by (key, rangeEnd). */
export function toInterval(key: Uint8Array, rangeEnd?: Uint8Array): KeyInterval {
  if (!rangeEnd || rangeEnd.length === 0) return { start: key, end: null, single: true };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start: key, end: null, single: false };
  return { start: key, end: rangeEnd, single: false };
}

/** Whether `k` lies in the interval. */
export function intervalContains(iv: KeyInterval, k: Uint8Array): boolean {
  if (iv.single) return compareBytes(iv.start, k) === 0;
  if (compareBytes(k, iv.start) < 0) return false;
  return iv.end === null || compareBytes(k, iv.end) < 0;
}

/** Whether two intervals share at least one key. */
export function intervalsIntersect(a: KeyInterval, b: KeyInterval): boolean {
  if (a.single) return intervalContains(b, a.start);
  if (b.single) return intervalContains(a, b.start);
  // [as, ae) ∩ [bs, be) ≠ ∅  ⇔  as < be && bs < ae (null = +∞), and neither is empty.
  if (isEmptyInterval(a) || isEmptyInterval(b)) return false;
  const aBeforeBEnd = b.end === null || compareBytes(a.start, b.end) < 0;
  const bBeforeAEnd = a.end === null || compareBytes(b.start, a.end) < 0;
  return aBeforeBEnd && bBeforeAEnd;
}

/** A range whose end is at or before its start holds no key (etcd answers it empty). */
export function isEmptyInterval(iv: KeyInterval): boolean {
  return !iv.single && iv.end !== null && compareBytes(iv.start, iv.end) >= 0;
}

/**
 * Shorten a scan bound longer than any storable key to MAX_KEY_BYTES + 1 bytes. For every key k of
 * at most MAX_KEY_BYTES bytes, k < b ⇔ k < clamp(b) and k >= b ⇔ k >= clamp(b) (k can never equal
 * the clamped bound), so scans give the same answer while LMDB never sees an oversized key.
 */
export function clampBound(b: Uint8Array): Uint8Array {
  return b.length > MAX_KEY_BYTES + 1 ? b.subarray(0, MAX_KEY_BYTES + 1) : b;
}
