/**
 * LightningSTOR in the service registry (ARCHITECTURE.md §1: HTTP 9000): S3-compatible object storage.
 * Access keys live in ChainFire (`ctx.openStore()`); objects and their metadata index live in the data
 * dir, which also holds `root-credentials.json` (the root S3 key pair, written on first start, 0600).
 */
import type { ServiceDefinition } from '../services.js';

/** LightningSTOR's entry for `photoncloud up` / `photoncloud serve lightningstor`. */
export const lightningstor: ServiceDefinition = {
  name: 'lightningstor',
  title: 'LightningSTOR',
  summary: 'S3-compatible object storage (SigV4, multipart, presigned URLs)',
  listeners: [
    {
      name: 'http',
      defaultPort: 9000,
      protocol: 'http',
      description: 'S3 API + REST API',
      flag: '--http-port',
    },
  ],
  async start(ctx) {
    // Loaded on demand so that `status` and `doctor` never pay for fastify and LMDB.
    const { startLightningStorServer } = await import('../../../../services/lightningstor/src/server.js');
    const store = await ctx.openStore();
    const server = await startLightningStorServer({
      store,
      host: ctx.host,
      port: ctx.ports['http'] ?? 9000,
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
          description: 'S3 API + REST API',
          address: url.replace(/^http:\/\//, ''),
          url,
        },
      ],
      close: () => server.close(),
    };
  },
};
