/** The API's views of stored records: pod = spec + binding + agent status; node = record + liveness. Pure. */
import type { Node, NodeRecord, Pod, PodSpec, PodStatus } from '@photoncloud/k8shost-api';

/** A pod as the API shows it. A status written for an earlier pod of the same name (other uid) is ignored. */
export function podView(spec: PodSpec, nodeName: string | null, status: PodStatus | undefined): Pod {
  const st = status !== undefined && status.uid === spec.uid ? status : undefined;
  return {
    uid: spec.uid,
    name: spec.name,
    namespace: spec.namespace,
    phase: st?.phase ?? 'Pending',
    pod_ip: st?.pod_ip ?? null,
    node_name: nodeName,
    image: spec.image,
    command: spec.command,
    args: spec.args,
    env: spec.env,
    working_dir: spec.working_dir,
    labels: spec.labels,
    resources: spec.resources,
    restart_policy: spec.restart_policy,
    restart_count: st?.restart_count ?? 0,
    exit_code: st?.exit_code ?? null,
    reason: st?.reason ?? (nodeName === null ? 'Unschedulable' : null),
    message: st?.message ?? null,
    container_state: st?.container_state ?? 'waiting',
    started_at: st?.started_at ?? null,
    finished_at: st?.finished_at ?? null,
    created_at: spec.created_at,
  };
}

/** A node as the API shows it: Ready while its heartbeat key (bound to the agent's lease) exists. */
export function nodeView(rec: NodeRecord, alive: boolean): Node {
  return { ...rec, status: alive ? 'Ready' : 'NotReady' };
}
