/**
 * Binary layouts of what ChainFire stores in LMDB (docs/adr/0002-chainfire-storage.md):
 *
 * - revision key (12 bytes): u64 main revision | u32 sub revision, big-endian, so LMDB's byte order
 *   is revision order;
 * - lease key (8 bytes): the lease ID as a big-endian two's-complement int64;
 * - KV record: u8 flags (bit 0 = tombstone) | u64 createRevision | u64 modRevision | u32 modSub |
 *   u64 version | i64 lease | u32 keyLength | key | value.
 */
import type { KeyValue } from '@photoncloud/store';

/** One version of a key as stored: the etcd KeyValue plus its sub-revision and tombstone flag. */
export interface StoredKv {
  key: Uint8Array;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  /** Position of this change inside its main revision. */
  modSub: number;
  version: number;
  /** Lease ID as a decimal string, "0" for none. */
  lease: string;
  /** A deletion marker: the key does not exist from modRevision on. */
  tombstone: boolean;
}

const HEADER = 41;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const LEASE_ID_RE = /^-?[0-9]{1,20}$/;

function setU64(v: DataView, off: number, n: number): void {
  v.setUint32(off, Math.floor(n / 0x100000000));
  v.setUint32(off + 4, n >>> 0);
}

function getU64(v: DataView, off: number): number {
  return v.getUint32(off) * 0x100000000 + v.getUint32(off + 4);
}

/** Encode one key version. */
export function encodeKvRecord(r: StoredKv): Uint8Array {
  const out = new Uint8Array(HEADER + r.key.length + r.value.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, r.tombstone ? 1 : 0);
  setU64(v, 1, r.createRevision);
  setU64(v, 9, r.modRevision);
  v.setUint32(17, r.modSub);
  setU64(v, 21, r.version);
  if (r.lease !== '0') v.setBigInt64(29, BigInt(r.lease));
  v.setUint32(37, r.key.length);
  out.set(r.key, HEADER);
  out.set(r.value, HEADER + r.key.length);
  return out;
}

/** Decode a KV record; `key` and `value` are views into `b`. */
export function decodeKvRecord(b: Uint8Array): StoredKv {
  if (b.length < HEADER) throw new Error('kv record: too short');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const keyLen = v.getUint32(37);
  if (HEADER + keyLen > b.length) throw new Error('kv record: bad key length');
  const hi = v.getUint32(29);
  const lo = v.getUint32(33);
  return {
    tombstone: (v.getUint8(0) & 1) === 1,
    createRevision: getU64(v, 1),
    modRevision: getU64(v, 9),
    modSub: v.getUint32(17),
    version: getU64(v, 21),
    lease: hi === 0 && lo === 0 ? '0' : v.getBigInt64(29).toString(),
    key: b.subarray(HEADER, HEADER + keyLen),
    value: b.subarray(HEADER + keyLen),
  };
}

/** The 12-byte key of a (main, sub) revision. */
export function revisionKey(main: number, sub: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  setU64(v, 0, main);
  v.setUint32(8, sub);
  return out;
}

/** Inverse of `revisionKey`. */
export function parseRevisionKey(b: Uint8Array): { main: number; sub: number } {
  if (b.length !== 12) throw new Error('revision key: need 12 bytes');
  const v = new DataView(b.buffer, b.byteOffset, 12);
  return { main: getU64(v, 0), sub: v.getUint32(8) };
}

/** Parse a lease ID string (decimal int64); undefined when it is not one. */
export function parseLeaseId(id: string): bigint | undefined {
  if (!LEASE_ID_RE.test(id)) return undefined;
  const n = BigInt(id);
  if (n < INT64_MIN || n > INT64_MAX) return undefined;
  return n;
}

/** Canonical decimal form of a valid lease ID ("007" → "7"); undefined when invalid. */
export function canonicalLeaseId(id: string): string | undefined {
  const n = parseLeaseId(id);
  return n === undefined ? undefined : n.toString();
}

/** The 8-byte key of a lease (ID must be valid). */
export function leaseKey(id: string): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(id));
  return out;
}

/** Inverse of `leaseKey`. */
export function leaseIdFromKey(b: Uint8Array): string {
  return new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0).toString();
}

/** The public KeyValue of a stored (live) version. */
export function toKeyValue(r: StoredKv, keysOnly = false): KeyValue {
  return {
    key: r.key,
    value: keysOnly ? new Uint8Array(0) : r.value,
    createRevision: r.createRevision,
    modRevision: r.modRevision,
    version: r.version,
    lease: r.lease,
  };
}

/** The KeyValue a DELETE event carries: the key and the deletion revision, nothing else (etcd). */
export function tombstoneKeyValue(key: Uint8Array, modRevision: number): KeyValue {
  return { key, value: new Uint8Array(0), createRevision: 0, modRevision, version: 0, lease: '0' };
}
