/**
 * `restService`: the registry entry of a service with one HTTP listener whose state lives in the platform
 * Store — what most entries are. The entry names its server module and passes the common options; this
 * opens the Store (`serve` closes it after the service has stopped) and reports the bound listener.
 */
import type { AuthOptions } from '@photoncloud/http-kit';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import type { ServeContext, ServiceDefinition } from '../services.js';

/** What every store-backed server's `start…Server` takes. */
export interface RestServerOptions {
  store: Store;
  host: string;
  port: number;
  auth: AuthOptions;
  logger: Logger;
  dataDir: string;
}

/** What every such server returns. */
export interface RestServer {
  /** Base URL as bound, e.g. `http://127.0.0.1:8087`. */
  url: string;
  close(): Promise<void>;
}

/** A registry entry's description, without its start-up plumbing. */
export interface RestServiceSpec {
  name: string;
  title: string;
  summary: string;
  defaultPort: number;
  /** What the HTTP listener serves; default "REST API". */
  description?: string;
  /**
   * Start the server. Import its module here (dynamically), so that `status` and `doctor` never pay for
   * fastify and the service's dependencies.
   */
  start(opts: RestServerOptions, ctx: ServeContext): Promise<RestServer>;
}

/** The registry entry of a store-backed service with one HTTP listener. */
export function restService(spec: RestServiceSpec): ServiceDefinition {
  const description = spec.description ?? 'REST API';
  return {
    name: spec.name,
    title: spec.title,
    summary: spec.summary,
    listeners: [
      { name: 'http', defaultPort: spec.defaultPort, protocol: 'http', description, flag: '--http-port' },
    ],
    async start(ctx) {
      const store = await ctx.openStore();
      const server = await spec.start(
        {
          store,
          host: ctx.host,
          port: ctx.ports['http'] ?? spec.defaultPort,
          auth: ctx.auth,
          logger: ctx.logger,
          dataDir: ctx.dataDir,
        },
        ctx,
      );
      return {
        listeners: [
          {
            name: 'http',
            protocol: 'http',
            description,
            address: server.url.replace(/^http:\/\//, ''),
            url: server.url,
          },
        ],
        close: () => server.close(),
      };
    },
  };
}
