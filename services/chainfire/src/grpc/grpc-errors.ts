/**
 * Errors on the etcd gRPC surface. Store errors travel with their gRPC code and etcd's exact message
 * (etcd's clients recognise errors by that text); errors that only the gRPC layer produces are listed
 * here with the code and text etcd 3.4 uses.
 */
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { StoreError } from '@photoncloud/store';

/** An error answered to the client as-is: a gRPC status code and etcd's message. */
export class EtcdGrpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'EtcdGrpcError';
  }
}

/** Errors only the API layer raises (codes and messages as etcd 3.4 answers them). */
export const API_ERRORS = {
  invalidSortOption: () => new EtcdGrpcError(status.INVALID_ARGUMENT, 'etcdserver: invalid sort option'),
  memberNotFound: () => new EtcdGrpcError(status.NOT_FOUND, 'etcdserver: member not found'),
  memberBadUrls: () =>
    new EtcdGrpcError(status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid'),
  peerUrlExists: () => new EtcdGrpcError(status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'),
  // etcd 3.4 returns this one without a mapped code, so clients see Unknown.
  notEnoughStartedMembers: () =>
    new EtcdGrpcError(
      status.UNKNOWN,
      'etcdserver: re-configuration failed due to not enough started members',
    ),
  memberNotLearner: () =>
    new EtcdGrpcError(status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'),
  badLeaderTransferee: () =>
    new EtcdGrpcError(status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'),
  rootUserNotExist: () =>
    new EtcdGrpcError(status.FAILED_PRECONDITION, 'etcdserver: root user does not exist'),
  authNotEnabled: () =>
    new EtcdGrpcError(status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'),
  userNotFound: () => new EtcdGrpcError(status.FAILED_PRECONDITION, 'etcdserver: user name not found'),
  userEmpty: () => new EtcdGrpcError(status.INVALID_ARGUMENT, 'etcdserver: user name is empty'),
  roleNotFound: () => new EtcdGrpcError(status.FAILED_PRECONDITION, 'etcdserver: role name not found'),
  roleEmpty: () => new EtcdGrpcError(status.INVALID_ARGUMENT, 'etcdserver: role name is empty'),
  /** A reconfiguration a single-node ChainFire cannot perform (clustering comes later). */
  singleNode: (what: string) =>
    new EtcdGrpcError(
      status.FAILED_PRECONDITION,
      `etcdserver: ${what} is not supported: this ChainFire runs as a single node`,
    ),
  unsupported: (what: string) =>
    new EtcdGrpcError(status.UNIMPLEMENTED, `etcdserver: ${what} is not supported by ChainFire`),
} as const;

/** Turn anything thrown by a handler into the status sent to the client; never leaks a stack. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof StoreError)
    return { code: err.grpcCode, details: err.message, metadata: new Metadata() };
  if (err instanceof EtcdGrpcError) return { code: err.code, details: err.message, metadata: new Metadata() };
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: status.INTERNAL,
    details: `etcdserver: internal error: ${message}`,
    metadata: new Metadata(),
  };
}
