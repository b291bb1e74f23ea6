/** ChainFire: the platform's strongly consistent KV store (etcd v3 semantics) on Raft + LMDB. */
export { openChainFire } from './engine.js';
export type { ChainFire, ChainFireOptions, ClusterStatus } from './engine.js';
export {
  MAX_KEY_BYTES,
  MAX_REQUEST_BYTES,
  MAX_TXN_OPS,
  MAX_LEASE_TTL,
  DEFAULT_MIN_LEASE_TTL,
  SERVER_VERSION,
} from './core/limits.js';
