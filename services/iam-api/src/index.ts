/** @photoncloud/iam-api: IAM's REST wire types and typed client. */
export * from './schemas.js';
export * from './iam-client.js';
