/** The etcd Lease service over any Store; keep-alives answer one response per request on one stream. */
import type * as grpc from '@grpc/grpc-js';
import type * as pb from '@photoncloud/etcd-proto';
import { StoreError } from '@photoncloud/store';
import { headerToWire, num } from './convert.js';
import { toServiceError } from './grpc-errors.js';
import { checkSize, currentHeader, unary, type ServerContext } from './server-context.js';

type Out<T> = pb.Outgoing<T>;

/** etcd's largest lease TTL (lease.MaxLeaseTTL), in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

/** Handlers for etcdserverpb.Lease. */
export function leaseService(ctx: ServerContext): grpc.UntypedServiceImplementation {
  const { store } = ctx;
  return {
    LeaseGrant: unary(async (req: pb.LeaseGrantRequest) => {
      checkSize(ctx, req);
      if (num(req.TTL) > MAX_LEASE_TTL) throw new StoreError('leaseTtlTooLarge');
      const res = await store.leaseGrant(num(req.TTL), req.ID);
      return { header: headerToWire(res.header), ID: res.id, TTL: res.ttl };
    }),
    LeaseRevoke: unary(async (req: pb.LeaseRevokeRequest) => {
      const res = await store.leaseRevoke(req.ID);
      return { header: headerToWire(res.header) };
    }),
    LeaseTimeToLive: unary(async (req: pb.LeaseTimeToLiveRequest) => {
      try {
        const res = await store.leaseTimeToLive(req.ID, req.keys);
        return {
          header: headerToWire(res.header),
          ID: res.id,
          TTL: res.ttl,
          grantedTTL: res.grantedTtl,
          keys: res.keys,
        };
      } catch (err) {
        // etcd reports an unknown lease as already expired (TTL -1), not as an error.
        if (err instanceof StoreError && err.kind === 'leaseNotFound') {
          return { header: headerToWire(await currentHeader(store)), ID: req.ID, TTL: -1 };
        }
        throw err;
      }
    }),
    LeaseLeases: unary(async () => {
      const res = await store.leaseLeases();
      return { header: headerToWire(res.header), leases: res.leases.map((ID) => ({ ID })) };
    }),
    LeaseKeepAlive: (
      call: grpc.ServerDuplexStream<pb.LeaseKeepAliveRequest, Out<pb.LeaseKeepAliveResponse>>,
    ) => {
      const handle = { end: () => call.end() };
      ctx.streams.add(handle);
      let chain: Promise<void> = Promise.resolve();
      let closed = false;
      const stop = () => {
        closed = true;
        ctx.streams.delete(handle);
      };
      call.on('close', stop);
      call.on('cancelled', stop);
      call.on('error', stop);
      call.on('end', () => {
        chain = chain.then(() => {
          if (!closed) call.end();
        });
      });
      call.on('data', (req: pb.LeaseKeepAliveRequest) => {
        chain = chain
          .then(async () => {
            if (closed) return;
            let out: Out<pb.LeaseKeepAliveResponse>;
            try {
              const res = await store.leaseKeepAlive(req.ID);
              out = { header: headerToWire(res.header), ID: res.id, TTL: res.ttl };
            } catch (err) {
              // etcd answers a keep-alive for an unknown lease with TTL 0 and keeps the stream.
              if (!(err instanceof StoreError && err.kind === 'leaseNotFound')) throw err;
              out = { header: headerToWire(await currentHeader(store)), ID: req.ID, TTL: 0 };
            }
            if (!closed) call.write(out);
          })
          .catch((err: unknown) => {
            if (closed) return;
            stop();
            call.emit('error', toServiceError(err));
          });
      });
    },
  };
}
