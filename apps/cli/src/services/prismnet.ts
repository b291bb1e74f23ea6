/**
 * PrismNET in the service registry (ARCHITECTURE.md §1: HTTP 8087): VPCs, subnets, ports (IPAM) and
 * security groups. All of its state lives in ChainFire (`ctx.openStore()`); it keeps nothing on local disk.
 */
import type { ServiceDefinition } from '../services.js';

/** PrismNET's entry for `photoncloud up` / `photoncloud serve prismnet`. */
export const prismnet: ServiceDefinition = {
  name: 'prismnet',
  title: 'PrismNET',
  summary: 'VPCs, subnets, ports with IPAM, and security groups',
  listeners: [
    { name: 'http', defaultPort: 8087, protocol: 'http', description: 'REST API', flag: '--http-port' },
  ],
  async start(ctx) {
    // Loaded on demand so that `status` and `doctor` never pay for fastify.
    const { startPrismNetServer } = await import('../../../../services/prismnet/src/server.js');
    // `serve` closes the store after the service has stopped.
    const store = await ctx.openStore();
    const server = await startPrismNetServer({
      store,
      host: ctx.host,
      port: ctx.ports['http'] ?? 8087,
      auth: ctx.auth,
      logger: ctx.logger,
      dataDir: ctx.dataDir,
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
