/**
 * CreditService in the service registry (ARCHITECTURE.md §1: HTTP 8086): wallets, a double-entry ledger,
 * credit reservations with expiry, and quotas. All of its state lives in ChainFire (`ctx.openStore()`);
 * several instances may share one store (each runs the reservation-expiry controller safely).
 */
import type { ServiceDefinition } from '../services.js';

/** CreditService's entry for `photoncloud up` / `photoncloud serve creditservice`. */
export const creditservice: ServiceDefinition = {
  name: 'creditservice',
  title: 'CreditService',
  summary: 'wallets, double-entry ledger, credit reservations and quotas',
  listeners: [
    { name: 'http', defaultPort: 8086, protocol: 'http', description: 'REST API', flag: '--http-port' },
  ],
  async start(ctx) {
    // Loaded on demand so that `status` and `doctor` never pay for fastify.
    const { startCreditServiceServer } = await import('../../../../services/creditservice/src/server.js');
    // `serve` closes the store after the service has stopped.
    const store = await ctx.openStore();
    const server = await startCreditServiceServer({
      store,
      host: ctx.host,
      port: ctx.ports['http'] ?? 8086,
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
