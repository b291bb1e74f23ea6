/**
 * The etcd Cluster service. Membership is read from the store. On ChainFire's engine, MemberAdd,
 * MemberRemove and MemberPromote change the Raft membership (learner first, one change at a time,
 * etcd's strict reconfiguration check); they are refused as etcd 3.4 refuses them (unknown member,
 * peer URL taken, promoting a voter or a learner that lags, losing the quorum). MemberUpdate rewrites
 * a member's peer URLs through the log. Any change on a store without membership support answers a
 * clear "not supported".
 */
import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import type * as pb from '@photoncloud/etcd-proto';
import { StoreError } from '@photoncloud/store';
import type { Member, ResponseHeader } from '@photoncloud/store';
import { headerToWire } from './convert.js';
import { API_ERRORS, EtcdGrpcError } from './grpc-errors.js';
import { unary, type ServerContext } from './server-context.js';

/** Handlers for etcdserverpb.Cluster. */
/** What a store that can change membership offers (ChainFire's engine). */
interface Membership {
  memberAdd(req: { peerUrls: string[]; isLearner: boolean }): Promise<ChangeResult>;
  memberRemove(id: string): Promise<ChangeResult>;
  memberPromote(id: string): Promise<ChangeResult>;
  memberUpdate(id: string, peerUrls: string[]): Promise<ChangeResult>;
}

interface ChangeReply {
  header: pb.Outgoing<pb.ResponseHeader>;
  member?: pb.Outgoing<pb.Member>;
  members: Array<pb.Outgoing<pb.Member>>;
}

interface ChangeResult {
  header: ResponseHeader;
  member?: Member;
  members: Member[];
}

function membershipOf(store: object): Membership | undefined {
  const m = store as Partial<Membership>;
  return typeof m.memberAdd === 'function' &&
    typeof m.memberRemove === 'function' &&
    typeof m.memberPromote === 'function' &&
    typeof m.memberUpdate === 'function'
    ? (m as Membership)
    : undefined;
}

/** Run a membership change, answering its refusals with etcd's status codes. */
async function change(run: () => Promise<ChangeResult>): Promise<ChangeReply> {
  let res: ChangeResult;
  try {
    res = await run();
  } catch (e) {
    if (e instanceof Error && e.name === 'MembershipError') {
      const reason = (e as Error & { reason?: string }).reason;
      if (reason === 'peerUrlExists') throw API_ERRORS.peerUrlExists();
      if (reason === 'memberBadUrls') throw API_ERRORS.memberBadUrls();
      if (reason === 'memberNotLearner') throw API_ERRORS.memberNotLearner();
      if (reason === 'notEnoughStartedMembers') throw API_ERRORS.notEnoughStartedMembers();
      throw new EtcdGrpcError(grpcStatus.FAILED_PRECONDITION, e.message);
    }
    if (e instanceof StoreError && e.kind === 'memberNotFound') throw API_ERRORS.memberNotFound();
    throw e;
  }
  const out: ChangeReply = {
    header: clusterHeader(res.header),
    members: res.members.map(memberToWire),
  };
  if (res.member) out.member = memberToWire(res.member);
  return out;
}

/** Handlers for etcdserverpb.Cluster. */
export function clusterService(ctx: ServerContext): grpc.UntypedServiceImplementation {
  const { store } = ctx;
  const membership = membershipOf(store);
  return {
    MemberList: unary(async () => {
      const { header, members } = await store.memberList();
      return { header: clusterHeader(header), members: members.map(memberToWire) };
    }),
    MemberAdd: unary(async (req: pb.MemberAddRequest) => {
      if (!validUrls(req.peerURLs)) throw API_ERRORS.memberBadUrls();
      const { members } = await store.memberList();
      if (members.some((m) => m.peerUrls.some((u) => req.peerURLs.includes(u))))
        throw API_ERRORS.peerUrlExists();
      if (!membership) throw API_ERRORS.singleNode('member add');
      return change(() => membership.memberAdd({ peerUrls: req.peerURLs, isLearner: req.isLearner }));
    }),
    MemberRemove: unary(async (req: pb.MemberIdRequest) => {
      const { members } = await store.memberList();
      const target = find(members, req.ID);
      if (!target) throw API_ERRORS.memberNotFound();
      // Removing the only voter would leave no quorum: etcd refuses with exactly this error.
      if (members.filter((m) => !m.isLearner).length <= 1 && !target.isLearner) {
        throw API_ERRORS.notEnoughStartedMembers();
      }
      if (!membership) throw API_ERRORS.singleNode('member remove');
      const { members: _m, member: _one, ...rest } = await change(() => membership.memberRemove(req.ID));
      return { ...rest, members: (await store.memberList()).members.map(memberToWire) };
    }),
    MemberUpdate: unary(async (req: pb.MemberUpdateRequest) => {
      if (!validUrls(req.peerURLs)) throw API_ERRORS.memberBadUrls();
      const { header, members } = await store.memberList();
      const target = find(members, req.ID);
      if (!target) throw API_ERRORS.memberNotFound();
      if (members.some((m) => m !== target && m.peerUrls.some((u) => req.peerURLs.includes(u)))) {
        throw API_ERRORS.peerUrlExists();
      }
      // Nothing to change is a change that succeeds.
      if (sameUrls(target.peerUrls, req.peerURLs)) {
        return { header: clusterHeader(header), members: members.map(memberToWire) };
      }
      if (!membership) throw API_ERRORS.singleNode('member update');
      const { member: _one, ...rest } = await change(() => membership.memberUpdate(req.ID, req.peerURLs));
      return rest;
    }),
    MemberPromote: unary(async (req: pb.MemberIdRequest) => {
      const { members } = await store.memberList();
      const target = find(members, req.ID);
      if (!target) throw API_ERRORS.memberNotFound();
      if (!target.isLearner) throw API_ERRORS.memberNotLearner();
      if (!membership) throw API_ERRORS.singleNode('member promote');
      const { member: _one, ...rest } = await change(() => membership.memberPromote(req.ID));
      return rest;
    }),
  };
}

function find(members: Member[], id: string): Member | undefined {
  return members.find((m) => m.id === id);
}

function sameUrls(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().every((u, i) => u === [...b].sort()[i]);
}

/** Peer URLs as etcd accepts them: http(s)/unix(s) scheme, host:port, no path. */
function validUrls(urls: string[]): boolean {
  if (urls.length === 0) return false;
  return urls.every((raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return false;
    }
    if (!['http:', 'https:', 'unix:', 'unixs:'].includes(u.protocol)) return false;
    if (u.protocol === 'http:' || u.protocol === 'https:') {
      if (!/:\d+$/.test(u.host)) return false;
    }
    return (u.pathname === '' || u.pathname === '/') && !raw.endsWith('/');
  });
}

/** Member as etcd puts it on the wire. */
export function memberToWire(m: Member): pb.Outgoing<pb.Member> {
  return { ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

/** etcd's cluster RPCs answer with a header that names cluster, member and term but no revision. */
function clusterHeader(h: ResponseHeader): pb.Outgoing<pb.ResponseHeader> {
  return { ...headerToWire(h), revision: 0 };
}
