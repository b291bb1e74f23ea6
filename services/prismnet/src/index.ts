/** @photoncloud/prismnet: the PrismNET service (VPCs, subnets, ports/IPAM, security groups). */
export * from './server.js';
export { registerPrismNetRoutes } from './routes/index.js';
export { PrismNetRepo } from './storage/prismnet-repo.js';
export { KEYS as PRISMNET_KEYS, PRISMNET_PREFIX } from './storage/keys.js';
