/**
 * ChainFire's etcd v3 gRPC API: serves every etcd RPC from any `Store` — ChainFire's own engine in
 * production, or an `EtcdStore` (a proxy to a real etcd) in tests — so that etcdctl and every etcd
 * client library work against ChainFire unchanged.
 */
import * as grpc from '@grpc/grpc-js';
import { loadEtcdProto, type EtcdServiceName } from '@photoncloud/etcd-proto';
import type { Store } from '@photoncloud/store';
import { authService } from './auth-service.js';
import { clusterService } from './cluster-service.js';
import { kvService } from './kv-service.js';
import { leaseService } from './lease-service.js';
import { maintenanceService } from './maintenance-service.js';
import { guarded, type CallCheck } from './grpc-auth.js';
import type { ServerContext } from './server-context.js';
import { MAX_TXN_OPS } from './validate.js';
import { watchService } from './watch-service.js';

/** Options for `startEtcdGrpcServer`. */
export interface EtcdGrpcServerOptions {
  /** Address to listen on, e.g. "127.0.0.1" or "::1" (or "0.0.0.0" for every interface). */
  host: string;
  /** Port; 0 lets the OS choose a free one (read it from the result). */
  port: number;
  /** Largest accepted write request in bytes (etcd's --max-request-bytes; default 1.5 MiB). */
  maxRequestBytes?: number;
  /** Most operations per transaction branch (etcd's --max-txn-ops; default 128). */
  maxTxnOps?: number;
  /** Serve TLS with this certificate and key (PEM); clients verify it against their CA. */
  tls?: ServerTls;
  /**
   * Who may call the etcd API (`etcdCallCheck`); without it every call is served (a test server, or an
   * `EtcdStore` proxy behind one).
   */
  check?: CallCheck;
  /** More services on the same listener (ChainFire's peer service), each with its own check. */
  extraServices?: Array<{
    definition: grpc.ServiceDefinition;
    impl: grpc.UntypedServiceImplementation;
    check?: CallCheck;
  }>;
}

/** A server certificate: PEM certificate chain and private key. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
}

/** A running server. */
export interface EtcdGrpcServer {
  /** The port actually bound. */
  port: number;
  /** Stop accepting calls, end open streams and release the port. */
  close(): Promise<void>;
}

/** etcd's default --max-request-bytes. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** etcd lets gRPC messages exceed the request limit by this much, so the limit is checked (and
 * reported with etcd's message) by the handler rather than cut off by the transport. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** Start the etcd v3 gRPC API for `store` on `host:port`. */
export async function startEtcdGrpcServer(
  store: Store,
  opts: EtcdGrpcServerOptions,
): Promise<EtcdGrpcServer> {
  const maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const sizes = new WeakMap<object, number>();
  const ctx: ServerContext = {
    store,
    maxRequestBytes,
    maxTxnOps: opts.maxTxnOps ?? MAX_TXN_OPS,
    requestSize: (req) => sizes.get(req) ?? 0,
    streams: new Set(),
  };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': -1,
    // Channelz (gRPC's introspection service) is not served; its per-call bookkeeping costs CPU.
    'grpc.enable_channelz': 0,
  });
  const impls: Record<EtcdServiceName, grpc.UntypedServiceImplementation> = {
    KV: kvService(ctx),
    Watch: watchService(ctx),
    Lease: leaseService(ctx),
    Cluster: clusterService(ctx),
    Maintenance: maintenanceService(ctx),
    Auth: authService(ctx),
  };
  const { services } = loadEtcdProto();
  const guard = (
    def: grpc.ServiceDefinition,
    impl: grpc.UntypedServiceImplementation,
    check: CallCheck | undefined,
  ): grpc.UntypedServiceImplementation => (check === undefined ? impl : guarded(def, impl, check));
  for (const name of Object.keys(impls) as EtcdServiceName[]) {
    server.addService(measured(services[name], sizes), guard(services[name], impls[name], opts.check));
  }
  for (const extra of opts.extraServices ?? []) {
    server.addService(extra.definition, guard(extra.definition, extra.impl, extra.check));
  }
  const host = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
  // Clients authenticate with the cluster secret or a token (grpc-auth.ts), not with certificates.
  const credentials =
    opts.tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(
          null,
          [{ cert_chain: opts.tls.cert, private_key: opts.tls.key }],
          false,
        );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port}`, credentials, (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  let closed: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        for (const s of [...ctx.streams]) {
          try {
            s.end();
          } catch {
            // Already gone.
          }
        }
        ctx.streams.clear();
        // Let in-flight calls finish briefly, then cut the rest off so close() always completes.
        const timer = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closed;
    },
  };
}

/** The service definition with request decoders that remember each message's encoded size. */
function measured(def: grpc.ServiceDefinition, sizes: WeakMap<object, number>): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(def).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (buf: Buffer) => {
          const msg = method.requestDeserialize(buf) as object;
          sizes.set(msg, buf.length);
          return msg;
        },
      },
    ]),
  );
}
