/**
 * PlasmaVMC in the service registry (ARCHITECTURE.md §1: HTTP 8084): the VM API. VM specs, statuses and
 * image records live in ChainFire (`ctx.openStore()`); image files under `<data-dir>/plasmavmc/images`. The
 * QEMU processes are run by the node agent's VM component (services/node-agent/src/vm, `startVmAgent`),
 * which the node agent process starts; PrismNET and CreditService are reached through `ctx.serviceUrls`.
 */
import type { ServiceDefinition } from '../services.js';

/** PlasmaVMC's entry for `photoncloud up` / `photoncloud serve plasmavmc`. */
export const plasmavmc: ServiceDefinition = {
  name: 'plasmavmc',
  title: 'PlasmaVMC',
  summary: 'VM lifecycle on QEMU: VMs, images, serial consoles',
  listeners: [
    { name: 'http', defaultPort: 8084, protocol: 'http', description: 'REST API', flag: '--http-port' },
  ],
  async start(ctx) {
    // Loaded on demand so that `status` and `doctor` never pay for fastify.
    const { startPlasmaVmcServer } = await import('../../../../services/plasmavmc/src/server.js');
    // `serve` closes the store after the service has stopped.
    const store = await ctx.openStore();
    const server = await startPlasmaVmcServer({
      store,
      dataDir: ctx.dataDir,
      host: ctx.host,
      port: ctx.ports['http'] ?? 8084,
      auth: ctx.auth,
      logger: ctx.logger,
      serviceUrls: ctx.serviceUrls,
    });
    const url = server.url;
    return {
      listeners: [
        {
          name: 'http',
          protocol: 'http',
          description: 'REST API',
          address: url.replace(/^http:\/\//, ''),
          url,
        },
      ],
      close: () => server.close(),
    };
  },
};
