/** @photoncloud/prismnet-api: PrismNET's REST wire types and typed client. */
export * from './schemas.js';
export * from './prismnet-client.js';
