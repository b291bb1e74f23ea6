/**
 * PrismNET in the service registry (ARCHITECTURE.md §1: HTTP 8087): VPCs, subnets, ports (IPAM) and
 * security groups. All of its state lives in ChainFire (`ctx.openStore()`); it keeps nothing on local disk.
 */
import { restService } from './rest-service.js';

/** PrismNET's entry for `photoncloud up` / `photoncloud serve prismnet`. */
export const prismnet = restService({
  name: 'prismnet',
  title: 'PrismNET',
  summary: 'VPCs, subnets, ports with IPAM, and security groups',
  defaultPort: 8087,
  async start(opts) {
    const { startPrismNetServer } = await import('../../../../services/prismnet/src/server.js');
    return startPrismNetServer(opts);
  },
});
