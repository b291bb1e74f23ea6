/** Load our etcd v3 .proto files into gRPC service definitions (one set of loader options for everybody). */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Directory holding rpc.proto, kv.proto and auth.proto. */
export const ETCD_PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));

/**
 * The loader options every PhotonCloud etcd client and server uses, so that both sides see the same
 * JS shapes (wire-types.ts): keepCase field names, int64 as decimal strings (uint64 IDs overflow JS
 * numbers), bytes as Buffer, enums as names, defaults filled in, oneof member names exposed.
 */
export const ETCD_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
  includeDirs: [ETCD_PROTO_DIR],
};

/** The six etcd v3 services. */
export const ETCD_SERVICE_NAMES = ['KV', 'Watch', 'Lease', 'Cluster', 'Maintenance', 'Auth'] as const;
export type EtcdServiceName = (typeof ETCD_SERVICE_NAMES)[number];

/** Service definitions for `grpc.Server.addService` and client constructors for callers. */
export interface EtcdProto {
  services: Record<EtcdServiceName, grpc.ServiceDefinition>;
  clients: Record<EtcdServiceName, grpc.ServiceClientConstructor>;
  /** The raw package definition, e.g. for other loaders or reflection. */
  packageDefinition: protoLoader.PackageDefinition;
}

let cached: EtcdProto | undefined;

/** Load (once per process) the etcdserverpb services. */
export function loadEtcdProto(): EtcdProto {
  if (cached) return cached;
  const packageDefinition = protoLoader.loadSync(['rpc.proto'], ETCD_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(packageDefinition);
  const pkg = loaded.etcdserverpb as grpc.GrpcObject | undefined;
  if (!pkg) throw new Error('etcd-proto: package etcdserverpb missing from rpc.proto');
  const services = {} as Record<EtcdServiceName, grpc.ServiceDefinition>;
  const clients = {} as Record<EtcdServiceName, grpc.ServiceClientConstructor>;
  for (const name of ETCD_SERVICE_NAMES) {
    const ctor = pkg[name] as grpc.ServiceClientConstructor | undefined;
    if (typeof ctor !== 'function') throw new Error(`etcd-proto: service etcdserverpb.${name} missing`);
    clients[name] = ctor;
    services[name] = ctor.service;
  }
  cached = { services, clients, packageDefinition };
  return cached;
}
