/**
 * Whole-keyspace reads through the Store interface, for the maintenance RPCs: a consistent scan at
 * one revision (paged, so a large keyspace never travels in one message), its CRC-32C hash, the
 * compaction point, and a snapshot dump.
 */
import { createHash } from 'node:crypto';
import { StoreError, type KeyValue, type ResponseHeader, type Store } from '@photoncloud/store';
import { crc32c } from './crc32c.js';

const PAGE = 1000;
const ALL = Uint8Array.of(0);

/** Visit every key at `revision` (0 = newest) in key order; returns the revision read and the header. */
export async function scanKeyspace(
  store: Store,
  revision: number,
  visit: (kv: KeyValue) => void,
): Promise<{ revision: number; header: ResponseHeader }> {
  let key: Uint8Array = ALL;
  let rev = revision;
  let header: ResponseHeader | undefined;
  // Bounded by the keyspace: every page advances past its last key.
  for (;;) {
    const res = await store.range({ key, rangeEnd: ALL, limit: PAGE, ...(rev > 0 ? { revision: rev } : {}) });
    header ??= res.header;
    // Later pages read at the revision of the first one, so the scan is one consistent view.
    if (rev <= 0) rev = res.header.revision;
    for (const kv of res.kvs) visit(kv);
    const last = res.kvs.at(-1);
    if (!res.more || !last) break;
    key = Buffer.concat([last.key, ALL]);
  }
  return { revision: rev, header: header! };
}

function u64(n: number | string): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(n)));
  return b;
}

/**
 * CRC-32C over every key-value pair at `revision`: key, value, create and mod revision, version and
 * lease of each, in key order. Equal keyspaces hash equal, on any member and any backend.
 */
export async function hashKeyspace(
  store: Store,
  revision: number,
): Promise<{ hash: number; revision: number; header: ResponseHeader }> {
  let hash = 0;
  const lens = Buffer.alloc(8);
  const { revision: rev, header } = await scanKeyspace(store, revision, (kv) => {
    // Length prefixes keep ("ab","c") and ("a","bc") apart.
    lens.writeUInt32BE(kv.key.length, 0);
    lens.writeUInt32BE(kv.value.length, 4);
    hash = crc32c(lens, hash);
    hash = crc32c(kv.key, hash);
    hash = crc32c(kv.value, hash);
    hash = crc32c(
      Buffer.concat([u64(kv.createRevision), u64(kv.modRevision), u64(kv.version), u64(kv.lease)]),
      hash,
    );
  });
  return { hash, revision: rev, header };
}

/**
 * The revision history starts at: the last compaction's revision, or -1 when nothing was ever
 * compacted (as etcd reports it). Found by bisecting reads, since the Store interface does not
 * expose the compaction point directly.
 */
export async function compactRevision(store: Store, current: number): Promise<number> {
  const readable = async (rev: number): Promise<boolean> => {
    try {
      await store.range({ key: ALL, countOnly: true, revision: rev });
      return true;
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'compacted') return false;
      throw err;
    }
  };
  if (current <= 1 || (await readable(1))) return -1;
  // Invariant: `lo` is compacted away, `hi` is readable.
  let lo = 1;
  let hi = current;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await readable(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Magic line that opens a ChainFire snapshot. */
export const SNAPSHOT_MAGIC = 'chainfire-snapshot v1';

/**
 * A snapshot of the store: the keyspace at one revision and the live leases, as JSON lines
 * (first line: magic; second: metadata; then one line per lease and per key, bytes in base64),
 * padded with newlines to a multiple of 512 bytes and followed by the SHA-256 of everything before
 * it — the integrity trailer etcd appends to its snapshots and etcdctl checks.
 */
export async function snapshotKeyspace(store: Store): Promise<{ data: Buffer; header: ResponseHeader }> {
  const lines: string[] = [];
  const { revision, header } = await scanKeyspace(store, 0, (kv) => {
    lines.push(
      JSON.stringify({
        key: Buffer.from(kv.key).toString('base64'),
        value: Buffer.from(kv.value).toString('base64'),
        create_revision: kv.createRevision,
        mod_revision: kv.modRevision,
        version: kv.version,
        lease: kv.lease,
      }),
    );
  });
  const leaseLines: string[] = [];
  for (const id of (await store.leaseLeases()).leases) {
    const ttl = await store.leaseTimeToLive(id).catch(() => undefined);
    if (ttl && ttl.ttl >= 0)
      leaseLines.push(JSON.stringify({ lease: id, ttl: ttl.ttl, granted_ttl: ttl.grantedTtl }));
  }
  const meta = JSON.stringify({
    revision,
    cluster_id: header.clusterId,
    member_id: header.memberId,
    keys: lines.length,
    leases: leaseLines.length,
  });
  const text = Buffer.from([SNAPSHOT_MAGIC, meta, ...leaseLines, ...lines].join('\n') + '\n', 'utf8');
  // etcdctl recognises the checksum trailer by the body being a whole number of 512-byte pages (as an
  // etcd database file is); blank lines pad ours to that size.
  const body = Buffer.concat([text, Buffer.alloc((512 - (text.length % 512)) % 512, 0x0a)]);
  const sha = createHash('sha256').update(body).digest();
  return { data: Buffer.concat([body, sha]), header };
}
