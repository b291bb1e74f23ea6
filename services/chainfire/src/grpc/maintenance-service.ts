/** The etcd Maintenance service over any Store (status, alarms, hashes, snapshot, defragment, leader moves). */
import type * as grpc from '@grpc/grpc-js';
import type * as pb from '@photoncloud/etcd-proto';
import { StoreError } from '@photoncloud/store';
import { headerToWire, num } from './convert.js';
import { API_ERRORS, toServiceError } from './grpc-errors.js';
import { compactRevision, hashKeyspace, snapshotKeyspace } from './keyspace.js';
import { currentHeader, unary, type ServerContext } from './server-context.js';

type Out<T> = pb.Outgoing<T>;

/** Snapshot chunk size (etcd sends 32 KiB pieces). */
const SNAPSHOT_CHUNK = 32 * 1024;

/** Handlers for etcdserverpb.Maintenance. */
export function maintenanceService(ctx: ServerContext): grpc.UntypedServiceImplementation {
  const { store } = ctx;
  return {
    Status: unary(async () => {
      const s = await store.status();
      return {
        header: headerToWire(s.header),
        version: s.version,
        dbSize: s.dbSize,
        leader: s.leader,
        raftIndex: s.raftIndex,
        raftTerm: s.raftTerm,
        raftAppliedIndex: s.raftAppliedIndex,
        errors: s.errors,
        dbSizeInUse: s.dbSize,
        isLearner: s.isLearner,
      };
    }),
    Alarm: unary(async (req: pb.AlarmRequest) => {
      // ChainFire raises no alarms (no space quota, no corruption check yet): the list is empty and
      // disarming is a no-op, as on an etcd without alarms.
      if (String(req.action) === 'ACTIVATE') throw API_ERRORS.unsupported('alarm activation');
      // etcd 3.4 sends no header with alarm, defragment and move-leader answers.
      return { alarms: [] };
    }),
    // LMDB reuses freed pages in place; there is nothing to defragment. The store is still asked,
    // so that an unreachable store is reported rather than a defragmentation that did not happen.
    Defragment: unary(async () => {
      await currentHeader(store);
      return {};
    }),
    Hash: unary(async () => {
      const { hash, header } = await hashKeyspace(store, 0);
      return { header: headerToWire(header), hash };
    }),
    HashKV: unary(async (req: pb.HashKVRequest) => {
      const { hash, header, revision } = await hashKeyspace(store, Math.max(0, num(req.revision)));
      return {
        header: headerToWire(header),
        hash,
        compact_revision: await compactRevision(store, revision),
      };
    }),
    MoveLeader: unary(async (req: pb.MoveLeaderRequest) => {
      const status = await store.status();
      if (status.leader !== status.header.memberId) throw new StoreError('notLeader');
      const { members } = await store.memberList();
      const target = members.find((m) => m.id === req.targetID);
      if (!target || target.isLearner) throw API_ERRORS.badLeaderTransferee();
      // The only voter already leads: the transfer is complete at once, as on a one-member etcd.
      if (target.id === status.leader) return {};
      const mover = store as Partial<{ moveLeader(id: string): Promise<void> }>;
      if (typeof mover.moveLeader !== 'function') throw API_ERRORS.singleNode('leader transfer');
      await mover.moveLeader(target.id);
      return {};
    }),
    Snapshot: (call: grpc.ServerWritableStream<object, Out<pb.SnapshotResponse>>) => {
      void streamSnapshot(ctx, call);
    },
  };
}

async function streamSnapshot(
  ctx: ServerContext,
  call: grpc.ServerWritableStream<object, Out<pb.SnapshotResponse>>,
) {
  let cancelled = false;
  call.on('cancelled', () => (cancelled = true));
  try {
    const { data, header } = await snapshotKeyspace(ctx.store);
    const body = data.subarray(0, data.length - 32);
    const sha = data.subarray(data.length - 32);
    let sent = 0;
    let first = true;
    while (sent < body.length && !cancelled) {
      const blob = body.subarray(sent, sent + SNAPSHOT_CHUNK);
      sent += blob.length;
      const msg: Out<pb.SnapshotResponse> = { remaining_bytes: body.length - sent, blob };
      if (first) msg.header = headerToWire(header);
      first = false;
      if (!call.write(msg)) await new Promise((resolve) => call.once('drain', resolve));
    }
    // As etcd: the checksum travels last, in its own message.
    if (!cancelled) {
      call.write(
        first
          ? { header: headerToWire(header), remaining_bytes: 0, blob: sha }
          : { remaining_bytes: 0, blob: sha },
      );
      call.end();
    }
  } catch (err) {
    if (!cancelled) call.emit('error', toServiceError(err));
  }
}
