/**
 * CreditService in the service registry (ARCHITECTURE.md §1: HTTP 8086): wallets, a double-entry ledger,
 * credit reservations with expiry, and quotas. All of its state lives in ChainFire (`ctx.openStore()`);
 * several instances may share one store (each runs the reservation-expiry controller safely).
 */
import { restService } from './rest-service.js';

/** CreditService's entry for `photoncloud up` / `photoncloud serve creditservice`. */
export const creditservice = restService({
  name: 'creditservice',
  title: 'CreditService',
  summary: 'wallets, double-entry ledger, credit reservations and quotas',
  defaultPort: 8086,
  async start(opts) {
    const { startCreditServiceServer } = await import('../../../../services/creditservice/src/server.js');
    return startCreditServiceServer(opts);
  },
});
