/**
 * What the kit adds to fastify's request and route config types. Imported for its types by the kit's
 * entry point, so every service sees `request.principal` and the route `config` flags.
 */
import type { Principal } from './auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: set by the auth hook; `null` only on public routes called anonymously. */
    principal: Principal | null;
    /** The resource an audited mutation acted on (set with `setAuditResource`). */
    auditResourceId: string | undefined;
  }
  interface FastifyContextConfig {
    /** Serve without authentication (a presented token is still verified). */
    public?: boolean;
    /** Set `false` to opt a POST route out of Idempotency-Key handling. */
    idempotency?: boolean;
  }
}

export {};
