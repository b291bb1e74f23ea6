/**
 * The REST cluster status from ChainFire's engine: each member's small node ID is `node_id` (the
 * guide's `"node_id": 1`), and its etcd-compatible uint64 member ID is `member_id`.
 */
import type { ClusterStatus, NodeId } from '@photoncloud/chainfire-api';
import type { ClusterStatus as EngineClusterStatus } from '../engine.js';
import { nodeId } from './cluster-status-from-store.js';

/** A store that can report ChainFire's own cluster status (the engine does). */
export interface ClusterStatusSource {
  clusterStatus(): Promise<EngineClusterStatus>;
}

/** True when `store` is ChainFire's engine (or anything else with its `clusterStatus()`). */
export function hasClusterStatus(store: object): store is ClusterStatusSource {
  return typeof (store as Partial<ClusterStatusSource>).clusterStatus === 'function';
}

/** Map the engine's status to the wire shape. */
export function clusterStatusFromEngine(s: EngineClusterStatus): ClusterStatus {
  // Members other than this one are known by member ID only; show their small ID when it is ours.
  const idOf = (memberId: string): NodeId =>
    memberId === s.memberId ? s.nodeId : (s.memberNodeIds[memberId] ?? nodeId(memberId));
  return {
    node_id: s.nodeId,
    member_id: s.memberId,
    cluster_id: s.clusterId,
    term: s.term,
    role: s.role,
    is_leader: s.isLeader,
    leader_id: s.leaderId === '0' || s.leaderId === '' ? null : idOf(s.leaderId),
    applied_index: s.appliedIndex,
    commit_index: s.commitIndex,
    revision: s.revision,
    members: s.members.map((m) => ({
      id: idOf(m.id),
      member_id: m.id,
      name: m.name,
      peer_urls: m.peerUrls,
      client_urls: m.clientUrls,
      is_learner: m.isLearner,
    })),
  };
}
