/** ChainFire's REST routes. */
export * from './register-chainfire-routes.js';
export * from './cluster-status-from-store.js';
export * from './cluster-status-from-engine.js';
export * from './kv-key.js';
