/** The etcd KV service (Range, Put, DeleteRange, Txn, Compact) over any Store. */
import type * as grpc from '@grpc/grpc-js';
import type * as pb from '@photoncloud/etcd-proto';
import {
  deleteFromWire,
  deleteToWire,
  headerToWire,
  num,
  putFromWire,
  putToWire,
  rangeFromWire,
  rangeToWire,
  txnFromWire,
  txnToWire,
} from './convert.js';
import { checkSize, unary, type ServerContext } from './server-context.js';
import { checkDelete, checkPut, checkRange, checkTxn } from './validate.js';

/** Handlers for etcdserverpb.KV. */
export function kvService(ctx: ServerContext): grpc.UntypedServiceImplementation {
  const { store } = ctx;
  return {
    Range: unary(async (req: pb.RangeRequest) => {
      checkRange(req);
      return rangeToWire(await store.range(rangeFromWire(req)));
    }),
    Put: unary(async (req: pb.PutRequest) => {
      checkPut(req);
      checkSize(ctx, req);
      return putToWire(await store.put(putFromWire(req)));
    }),
    DeleteRange: unary(async (req: pb.DeleteRangeRequest) => {
      checkDelete(req);
      checkSize(ctx, req);
      return deleteToWire(await store.deleteRange(deleteFromWire(req)));
    }),
    Txn: unary(async (req: pb.TxnRequest) => {
      // As etcd: the request is validated first, its size checked when it is about to be applied.
      checkTxn(req, ctx.maxTxnOps);
      checkSize(ctx, req);
      return txnToWire(await store.txn(txnFromWire(req)));
    }),
    Compact: unary(async (req: pb.CompactionRequest) => {
      const res = await store.compact(num(req.revision), req.physical);
      return { header: headerToWire(res.header) };
    }),
  };
}
