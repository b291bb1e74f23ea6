/** The etcd v3 wire protocol: our .proto files, their loader and the decoded message shapes. */
export {
  loadEtcdProto,
  ETCD_PROTO_DIR,
  ETCD_LOADER_OPTIONS,
  ETCD_SERVICE_NAMES,
  type EtcdProto,
  type EtcdServiceName,
} from './load-etcd-proto.js';
export type * from './wire-types.js';
