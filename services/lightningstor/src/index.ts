/** @photoncloud/lightningstor: S3-compatible object storage. */
export { startLightningStorServer } from './server.js';
export type { LightningStorServer, LightningStorServerOptions } from './server.js';
export { KeyStore, KEYS_PREFIX } from './storage/key-store.js';
export type { AccessKey } from './storage/key-store.js';
