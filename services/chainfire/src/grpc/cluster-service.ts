/**
 * The etcd Cluster service. Membership is read from the store; changes are answered as etcd 3.4
 * answers them wherever etcd would refuse too (unknown member, peer URL taken, promoting a voter,
 * removing the last member), and with a clear "not supported" where only a multi-node ChainFire
 * could comply (clustering comes in a later release).
 */
import type * as grpc from '@grpc/grpc-js';
import type * as pb from '@photoncloud/etcd-proto';
import type { Member, ResponseHeader } from '@photoncloud/store';
import { headerToWire } from './convert.js';
import { API_ERRORS } from './grpc-errors.js';
import { unary, type ServerContext } from './server-context.js';

/** Handlers for etcdserverpb.Cluster. */
export function clusterService(ctx: ServerContext): grpc.UntypedServiceImplementation {
  const { store } = ctx;
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
      throw API_ERRORS.singleNode('member add');
    }),
    MemberRemove: unary(async (req: pb.MemberIdRequest) => {
      const { members } = await store.memberList();
      const target = find(members, req.ID);
      if (!target) throw API_ERRORS.memberNotFound();
      // Removing the only voter would leave no quorum: etcd refuses with exactly this error.
      if (members.filter((m) => !m.isLearner).length <= 1 && !target.isLearner) {
        throw API_ERRORS.notEnoughStartedMembers();
      }
      throw API_ERRORS.singleNode('member remove');
    }),
    MemberUpdate: unary(async (req: pb.MemberUpdateRequest) => {
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
      throw API_ERRORS.singleNode('member update');
    }),
    MemberPromote: unary(async (req: pb.MemberIdRequest) => {
      const { members } = await store.memberList();
      const target = find(members, req.ID);
      if (!target) throw API_ERRORS.memberNotFound();
      if (!target.isLearner) throw API_ERRORS.memberNotLearner();
      throw API_ERRORS.singleNode('member promote');
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
