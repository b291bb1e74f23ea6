/**
 * The cluster status of any `Store` (ChainFire or etcd), from its maintenance status and member list:
 * what `GET /api/v1/cluster/status` answers when the server has no richer provider.
 */
import type { Store } from '@photoncloud/store';
import type { ClusterStatus, NodeId } from '@photoncloud/chainfire-api';

/** A decimal uint64 ID as JSON: a number when exact, else the decimal string. */
export function nodeId(decimal: string): NodeId {
  const n = Number(decimal);
  return Number.isSafeInteger(n) && String(n) === decimal ? n : decimal;
}

/** Build the status from `store.status()` and `store.memberList()`. */
export async function clusterStatusFromStore(store: Store): Promise<ClusterStatus> {
  const [status, list] = await Promise.all([store.status(), store.memberList()]);
  const self = status.header.memberId;
  const isLeader = status.leader !== '0' && status.leader === self;
  return {
    node_id: nodeId(self),
    member_id: self,
    cluster_id: status.header.clusterId,
    term: status.raftTerm,
    role: isLeader ? 'leader' : status.isLearner ? 'learner' : 'follower',
    is_leader: isLeader,
    leader_id: status.leader === '0' ? null : nodeId(status.leader),
    applied_index: status.raftAppliedIndex,
    // etcd's Status reports the committed index as raftIndex.
    commit_index: status.raftIndex,
    revision: status.header.revision,
    members: list.members.map((m) => ({
      id: nodeId(m.id),
      member_id: m.id,
      name: m.name,
      peer_urls: m.peerUrls,
      client_urls: m.clientUrls,
      is_learner: m.isLearner,
    })),
  };
}
