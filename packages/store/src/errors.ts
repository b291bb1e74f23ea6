/**
 * Store errors. Each kind carries etcd's exact message string so that the gRPC server can answer
 * exactly as etcd does, and so that the etcd adapter can map a real etcd's errors back.
 */

/** gRPC status codes used by etcd for each error kind (numeric, as in grpc-js `status`). */
export const GRPC_CODE = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNAVAILABLE: 14,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
} as const;

/** Kinds of store error, each with etcd's message and gRPC code. */
export const STORE_ERRORS = {
  emptyKey: { message: 'etcdserver: key is not provided', grpc: GRPC_CODE.INVALID_ARGUMENT },
  keyTooLarge: { message: 'etcdserver: key is too large', grpc: GRPC_CODE.INVALID_ARGUMENT },
  requestTooLarge: { message: 'etcdserver: request is too large', grpc: GRPC_CODE.INVALID_ARGUMENT },
  tooManyOps: { message: 'etcdserver: too many operations in txn request', grpc: GRPC_CODE.INVALID_ARGUMENT },
  duplicateKey: {
    message: 'etcdserver: duplicate key given in txn request',
    grpc: GRPC_CODE.INVALID_ARGUMENT,
  },
  compacted: {
    message: 'etcdserver: mvcc: required revision has been compacted',
    grpc: GRPC_CODE.OUT_OF_RANGE,
  },
  futureRev: {
    message: 'etcdserver: mvcc: required revision is a future revision',
    grpc: GRPC_CODE.OUT_OF_RANGE,
  },
  leaseNotFound: { message: 'etcdserver: requested lease not found', grpc: GRPC_CODE.NOT_FOUND },
  leaseExists: { message: 'etcdserver: lease already exists', grpc: GRPC_CODE.FAILED_PRECONDITION },
  leaseTtlTooLarge: { message: 'etcdserver: too large lease TTL', grpc: GRPC_CODE.OUT_OF_RANGE },
  valueProvided: { message: 'etcdserver: value is provided', grpc: GRPC_CODE.INVALID_ARGUMENT },
  leaseProvided: { message: 'etcdserver: lease is provided', grpc: GRPC_CODE.INVALID_ARGUMENT },
  keyNotFound: { message: 'etcdserver: key not found', grpc: GRPC_CODE.INVALID_ARGUMENT },
  noLeader: { message: 'etcdserver: no leader', grpc: GRPC_CODE.UNAVAILABLE },
  notLeader: { message: 'etcdserver: not leader', grpc: GRPC_CODE.FAILED_PRECONDITION },
  stopped: { message: 'etcdserver: server stopped', grpc: GRPC_CODE.UNAVAILABLE },
  timeout: { message: 'etcdserver: request timed out', grpc: GRPC_CODE.UNAVAILABLE },
  memberNotFound: { message: 'etcdserver: member not found', grpc: GRPC_CODE.NOT_FOUND },
  /** Anything an adapter could not classify (transport failure and the like). */
  unavailable: { message: 'store unavailable', grpc: GRPC_CODE.UNAVAILABLE },
} as const;

export type StoreErrorKind = keyof typeof STORE_ERRORS;

/** An error from the store, with its etcd message and gRPC code. */
export class StoreError extends Error {
  readonly kind: StoreErrorKind;
  readonly grpcCode: number;

  constructor(kind: StoreErrorKind, message?: string) {
    super(message ?? STORE_ERRORS[kind].message);
    this.name = 'StoreError';
    this.kind = kind;
    this.grpcCode = STORE_ERRORS[kind].grpc;
  }
}

/** Find the kind whose etcd message equals `message` (used to map a remote etcd's errors back). */
export function storeErrorKindFromMessage(message: string): StoreErrorKind | undefined {
  for (const [kind, def] of Object.entries(STORE_ERRORS)) {
    if (def.message === message) return kind as StoreErrorKind;
  }
  return undefined;
}
