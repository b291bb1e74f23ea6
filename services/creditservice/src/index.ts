/** @photoncloud/creditservice: wallets, a double-entry ledger, reservations and quotas (port 8086). */
export * from './server.js';
export { CreditStore } from './storage/credit-store.js';
export * from './core/ledger.js';
export * from './core/quota.js';
