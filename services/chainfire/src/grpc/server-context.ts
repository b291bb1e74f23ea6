/** What every etcd service handler needs: the store, request sizes and a few shared helpers. */
import type * as grpc from '@grpc/grpc-js';
import type { ResponseHeader, Store } from '@photoncloud/store';
import { StoreError } from '@photoncloud/store';
import { toServiceError } from './grpc-errors.js';

/** Shared state of one gRPC server. */
export interface ServerContext {
  store: Store;
  /** Encoded size of a decoded request message (etcd limits requests by their encoded size). */
  requestSize(req: object): number;
  /** etcd's --max-request-bytes. */
  maxRequestBytes: number;
  /** etcd's --max-txn-ops. */
  maxTxnOps: number;
  /** Open streaming calls, so that close() can end them. */
  streams: Set<{ end(): void }>;
}

/** The header of "now": the store's current revision, cluster, member and term. */
export async function currentHeader(store: Store): Promise<ResponseHeader> {
  return (await store.range({ key: Uint8Array.of(0), countOnly: true })).header;
}

/** Refuse requests above the size limit, as etcd does before proposing them to Raft. */
export function checkSize(ctx: ServerContext, req: object): void {
  if (ctx.requestSize(req) > ctx.maxRequestBytes) throw new StoreError('requestTooLarge');
}

/** Adapt an async handler to grpc-js: every failure becomes a status with etcd's message. */
export function unary<Req>(fn: (req: Req) => Promise<object>): grpc.handleUnaryCall<Req, object> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err)),
      );
  };
}
