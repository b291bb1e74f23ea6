/** ChainFire's etcd v3 gRPC server. */
export {
  startEtcdGrpcServer,
  DEFAULT_MAX_REQUEST_BYTES,
  type EtcdGrpcServer,
  type EtcdGrpcServerOptions,
  type ServerTls,
} from './etcd-grpc-server.js';
export { SNAPSHOT_MAGIC } from './keyspace.js';
