/**
 * IAM in the service registry (ARCHITECTURE.md §1: HTTP 8083): users, credentials, tokens, projects,
 * policies and the audit query. Its state lives in ChainFire (`ctx.openStore()`); its data dir holds the
 * bootstrap credential (`bootstrap-admin.json`, first start only) and the key that seals signing keys.
 */
import type { ServiceDefinition } from '../services.js';

/** IAM's entry for `photoncloud up` / `photoncloud serve iam`. */
export const iam: ServiceDefinition = {
  name: 'iam',
  title: 'IAM',
  summary: 'identity and access: users, credentials, tokens, projects, roles/policies, audit',
  listeners: [
    { name: 'http', defaultPort: 8083, protocol: 'http', description: 'REST API', flag: '--http-port' },
  ],
  async start(ctx) {
    // Loaded on demand so that `status` and `doctor` never pay for fastify and argon2.
    const { startIamServer } = await import('../../../../services/iam/src/server.js');
    const store = await ctx.openStore();
    const server = await startIamServer({
      store,
      host: ctx.host,
      port: ctx.ports['http'] ?? 8083,
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
