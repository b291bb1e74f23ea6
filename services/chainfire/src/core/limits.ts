/**
 * ChainFire's request limits. etcd's defaults where etcd has one, so that clients written against
 * etcd behave the same here.
 */

/**
 * Longest key accepted by put, in bytes. etcd itself has no key limit below the request size, but
 * LMDB caps keys at 1978 bytes (lmdb-js' compiled MDB_MAXKEYSIZE). User keys are LMDB keys
 * themselves in the `keys` and `revs` tables and follow an 8-byte lease ID in `leasekeys`
 * (docs/adr/0002-chainfire-storage.md), so 1970 would fit; 1536 (1.5 KiB) leaves room for a
 * future prefix byte without a format change. Longer keys get `keyTooLarge` on put; reads, deletes,
 * compares and watches with longer keys are answered as if such a key never exists.
 */
export const MAX_KEY_BYTES = 1536;

/** etcd's --max-request-bytes default: a larger proposal is refused with `requestTooLarge`. */
export const MAX_REQUEST_BYTES = 1572864;

/** etcd's --max-txn-ops default: operations per txn branch (and compares) per level. */
export const MAX_TXN_OPS = 128;

/** etcd's MaxLeaseTTL (seconds): larger grants fail with `leaseTtlTooLarge`. */
export const MAX_LEASE_TTL = 9000000000;

/**
 * Default minimum lease TTL in seconds: etcd 3.4's default, ceil(1.5 x election timeout of 1 s), so
 * both Store adapters grant the same TTLs. Smaller TTLs are raised to it; configurable per engine.
 */
export const DEFAULT_MIN_LEASE_TTL = 2;

/** Server version reported by status(): etcd clients (etcdctl) parse it, so it is etcd's format. */
export const SERVER_VERSION = '3.4.23';
