/**
 * The scheduler's decision, pure: filter nodes that are Ready and have room for the pod's requests
 * (allocatable minus the requests of pods already bound there), then pick the one with the most free
 * CPU (ties: most free memory, then name) so load spreads.
 */

/** A candidate node as the scheduler sees it. */
export interface SchedNode {
  name: string;
  ready: boolean;
  allocatableCpuMilli: number;
  allocatableMemoryBytes: number;
}

/** A pod's requests. */
export interface SchedRequest {
  cpuMilli: number;
  memoryBytes: number;
}

/** Why no node fits, or the chosen node. */
export type ScheduleResult = { node: string } | { node: null; reason: string };

/** Choose a node for a pod, given what is already bound to each node. */
export function schedule(
  req: SchedRequest,
  nodes: readonly SchedNode[],
  used: ReadonlyMap<string, SchedRequest>,
): ScheduleResult {
  const ready = nodes.filter((n) => n.ready);
  if (ready.length === 0)
    return { node: null, reason: `0/${nodes.length} nodes are available: no Ready node` };
  const fits = ready
    .map((n) => {
      const u = used.get(n.name) ?? { cpuMilli: 0, memoryBytes: 0 };
      return {
        name: n.name,
        cpu: n.allocatableCpuMilli - u.cpuMilli - req.cpuMilli,
        mem: n.allocatableMemoryBytes - u.memoryBytes - req.memoryBytes,
      };
    })
    .filter((f) => f.cpu >= 0 && f.mem >= 0);
  if (fits.length === 0) {
    return { node: null, reason: `0/${nodes.length} nodes are available: insufficient cpu or memory` };
  }
  fits.sort((a, b) => b.cpu - a.cpu || b.mem - a.mem || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { node: (fits[0] as { name: string }).name };
}
