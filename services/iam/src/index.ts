/** @photoncloud/iam: the IAM service (users, credentials, tokens, projects, policies, audit). */
export { startIamServer, IAM_ISSUER, IAM_VERSION } from './server.js';
export type { IamServer, IamServerOptions } from './server.js';
export { BOOTSTRAP_FILE } from './bootstrap.js';
export type { BootstrapCredential } from './bootstrap.js';
