/** @photoncloud/k8shost-api: k8shost's REST wire types and the ChainFire keys it shares with node agents. */
export * from './schemas.js';
export * from './keys.js';
export * from './ipv4.js';
