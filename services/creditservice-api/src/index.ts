/** @photoncloud/creditservice-api: CreditService's REST wire types and typed client. */
export * from './schemas.js';
export * from './credit-client.js';
