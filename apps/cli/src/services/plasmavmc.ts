/**
 * PlasmaVMC in the service registry (ARCHITECTURE.md §1: HTTP 8084): the VM API. VM specs, statuses and
 * image records live in ChainFire (`ctx.openStore()`); image files under `<data-dir>/plasmavmc/images`. The
 * QEMU processes are run by the node agent's VM component (services/node-agent/src/vm, `startVmAgent`),
 * which the node agent process starts; PrismNET and CreditService are reached through `ctx.serviceUrls`.
 */
import { restService } from './rest-service.js';

/** PlasmaVMC's entry for `photoncloud up` / `photoncloud serve plasmavmc`. */
export const plasmavmc = restService({
  name: 'plasmavmc',
  title: 'PlasmaVMC',
  summary: 'VM lifecycle on QEMU: VMs, images, serial consoles',
  defaultPort: 8084,
  async start(opts, ctx) {
    const { startPlasmaVmcServer } = await import('../../../../services/plasmavmc/src/server.js');
    return startPlasmaVmcServer({ ...opts, serviceUrls: ctx.serviceUrls });
  },
});
