/** @photoncloud/chainfire-api: ChainFire's REST wire types and typed client. */
export * from './schemas.js';
export * from './chainfire-client.js';
