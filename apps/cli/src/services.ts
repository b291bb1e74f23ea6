/**
 * The service registry: every service `photoncloud up` starts, its listeners with their default ports
 * (ARCHITECTURE.md §1), and how `photoncloud serve <service>` runs it. Only services that exist are
 * listed; each later service adds its entry here.
 */
import type { AuthMode } from '@photoncloud/config';
import type { AuthOptions } from '@photoncloud/http-kit';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { creditservice } from './services/creditservice.js';
import { iam } from './services/iam.js';
import { k8shost } from './services/k8shost.js';
import { lightningstor } from './services/lightningstor.js';
import { nightlight } from './services/nightlight.js';
import { nodeAgent } from './services/node-agent.js';
import { plasmavmc } from './services/plasmavmc.js';
import { prismnet } from './services/prismnet.js';

/** One socket a service listens on. */
export interface ListenerSpec {
  /** `http` for the REST API (every service has one); others e.g. `grpc`. */
  name: string;
  defaultPort: number;
  protocol: 'http' | 'grpc' | 'tcp' | 'udp';
  /** What is served there, for `up`/`status` output (e.g. "etcd v3 gRPC API"). */
  description: string;
  /** The `serve` flag that sets this port, e.g. `--grpc-port`. */
  flag: string;
}

/** What `serve` hands a service. */
export interface ServeContext {
  /** The service's own directory inside the platform data dir (`<data-dir>/<service>`). */
  dataDir: string;
  host: string;
  /** Port per listener name; 0 lets the OS choose. */
  ports: Record<string, number>;
  authMode: AuthMode;
  /** IAM's JWKS URL for verifying bearer tokens, when known. */
  jwksUrl?: string;
  /** Ready authentication/authorization settings for `createService` (mode, token verifier, policy hooks). */
  auth: AuthOptions;
  /** ChainFire's etcd v3 gRPC endpoints (`host:port`), where the service keeps its state. */
  storeEndpoints: string[];
  /**
   * Base URLs of the other services' REST APIs by service name (`prismnet` → `http://127.0.0.1:8087`), for
   * service-to-service calls through their `-api` clients.
   */
  serviceUrls: Record<string, string>;
  /** ChainFire: gRPC `host:port` of a member of an existing cluster to join (`serve --join`). */
  join?: string;
  /** ChainFire: the members of a new cluster started all at once (`serve --initial-cluster`). */
  initialCluster?: string;
  /** A Store on `storeEndpoints`; `serve` closes it after the service has stopped. */
  openStore(): Promise<Store>;
  logger: Logger;
}

/** A listener as it is actually bound. */
export interface BoundListener {
  name: string;
  protocol: ListenerSpec['protocol'];
  description: string;
  /** `host:port` as a client would dial it. */
  address: string;
  /** For HTTP listeners, the base URL. */
  url?: string;
}

/** A running service, as `serve` sees it. */
export interface RunningService {
  listeners: BoundListener[];
  /** Stop accepting, drain, release resources (flush storage). */
  close(): Promise<void>;
}

/** A service the CLI can run. */
export interface ServiceDefinition {
  /** Lower-case name used on the command line and in `--ports` (`chainfire`). */
  name: string;
  /** Display name (`ChainFire`). */
  title: string;
  /** One line: what it does. */
  summary: string;
  /** Listeners; the first is always `http`. */
  listeners: readonly ListenerSpec[];
  /** Start the service in this process. */
  start(ctx: ServeContext): Promise<RunningService>;
  /** An extra endpoint `photoncloud status` shows (e.g. ChainFire's cluster status), summarized in one line. */
  statusEndpoint?: { title: string; path: string; summarize(data: Record<string, unknown>): string };
}

function field(data: Record<string, unknown>, name: string): string {
  const v = data[name];
  return v === undefined || v === null ? '?' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** ChainFire: the platform's strongly consistent KV store (REST on 8081, etcd v3 gRPC on 50051). */
const chainfire: ServiceDefinition = {
  name: 'chainfire',
  title: 'ChainFire',
  summary: "strongly consistent KV store (etcd v3 API), the platform's source of truth",
  listeners: [
    { name: 'http', defaultPort: 8081, protocol: 'http', description: 'REST API', flag: '--http-port' },
    {
      name: 'grpc',
      defaultPort: 50051,
      protocol: 'grpc',
      description: 'etcd v3 gRPC API',
      flag: '--grpc-port',
    },
  ],
  statusEndpoint: {
    title: 'cluster',
    path: '/api/v1/cluster/status',
    summarize: (d) =>
      `node ${field(d, 'node_id')} is ${field(d, 'role')}${d['is_leader'] === true ? ' (leader)' : ''}, term ${field(d, 'term')}, cluster ${field(d, 'cluster_id')}`,
  },
  async start(ctx) {
    // Loaded on demand so that `status` and `doctor` never pay for fastify, gRPC and LMDB.
    const { startChainFireServer } = await import('../../../services/chainfire/src/server.js');
    const server = await startChainFireServer({
      dataDir: ctx.dataDir,
      host: ctx.host,
      httpPort: ctx.ports['http'] ?? 8081,
      grpcPort: ctx.ports['grpc'] ?? 50051,
      authMode: ctx.authMode,
      auth: ctx.auth,
      logger: ctx.logger,
      ...(ctx.jwksUrl === undefined ? {} : { jwksUrl: ctx.jwksUrl }),
      ...(ctx.join === undefined ? {} : { join: ctx.join }),
      ...(ctx.initialCluster === undefined ? {} : { initialCluster: ctx.initialCluster }),
    });
    return {
      listeners: [
        {
          name: 'http',
          protocol: 'http',
          description: 'REST API',
          address: server.httpUrl.replace(/^http:\/\//, ''),
          url: server.httpUrl,
        },
        { name: 'grpc', protocol: 'grpc', description: 'etcd v3 gRPC API', address: server.grpcAddress },
      ],
      close: () => server.close(),
    };
  },
};

/** Every service, in start order (ChainFire first: everything else keeps its state there). */
export const SERVICES: readonly ServiceDefinition[] = [
  chainfire,
  iam,
  creditservice,
  prismnet,
  plasmavmc,
  k8shost,
  nodeAgent,
  lightningstor,
  nightlight,
];

/** The service called `name`, if any. */
export function findService(name: string): ServiceDefinition | undefined {
  return SERVICES.find((s) => s.name === name.toLowerCase());
}

/** Names of every service, for error messages and help. */
export function serviceNames(): string[] {
  return SERVICES.map((s) => s.name);
}
