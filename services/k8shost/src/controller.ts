/**
 * k8shost's controller: on every change under its prefix (and on a slow timer, for heartbeats that
 * expire), it binds unscheduled pods to nodes (the pure `schedule`) and recomputes every service's
 * endpoints (the pure `selectEndpoints`), writing only what changed.
 */
import type { Logger } from '@photoncloud/log';
import { parseCpu, parseMemory } from './core/quantity.js';
import { schedule } from './core/schedule.js';
import type { SchedNode, SchedRequest } from './core/schedule.js';
import { selectEndpoints } from './core/endpoints.js';
import { podView } from './core/views.js';
import { nsKey } from './storage/k8s-repo.js';
import type { K8sRepo } from './storage/k8s-repo.js';

/** A running controller. */
export interface Controller {
  /** Run one pass now (tests and the API call it after writes). */
  kick(): void;
  close(): Promise<void>;
}

function requestOf(r: { cpu?: string; memory?: string }): SchedRequest {
  return { cpuMilli: parseCpu(r.cpu ?? '0') ?? 0, memoryBytes: parseMemory(r.memory ?? '0') ?? 0 };
}

/** Start the controller. */
export async function startController(repo: K8sRepo, logger: Logger, periodMs = 1000): Promise<Controller> {
  let running = false;
  let again = false;
  let closed = false;

  async function pass(): Promise<void> {
    const snap = await repo.snapshot();
    // Scheduling.
    const nodes: SchedNode[] = snap.nodes.map((n) => ({
      name: n.name,
      ready: snap.heartbeats.has(n.name),
      allocatableCpuMilli: parseCpu(n.allocatable_cpu) ?? 0,
      allocatableMemoryBytes: parseMemory(n.allocatable_memory) ?? 0,
    }));
    const used = new Map<string, SchedRequest>();
    for (const p of snap.pods) {
      const node = snap.bindings.get(nsKey(p.namespace, p.name));
      if (node === undefined) continue;
      const st = snap.statuses.get(nsKey(p.namespace, p.name));
      if (st !== undefined && st.uid === p.uid && (st.phase === 'Succeeded' || st.phase === 'Failed'))
        continue;
      const r = requestOf(p.resources.requests);
      const u = used.get(node) ?? { cpuMilli: 0, memoryBytes: 0 };
      used.set(node, { cpuMilli: u.cpuMilli + r.cpuMilli, memoryBytes: u.memoryBytes + r.memoryBytes });
    }
    const pending = snap.pods
      .filter((p) => !snap.bindings.has(nsKey(p.namespace, p.name)))
      .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
    for (const p of pending) {
      const req = requestOf(p.resources.requests);
      const choice = schedule(req, nodes, used);
      if (choice.node === null) continue;
      const cur = await repo.getPodSpec(p.namespace, p.name);
      if (cur === null || cur.pod.uid !== p.uid) continue;
      if (await repo.bindPod(p, choice.node, cur.modRevision)) {
        snap.bindings.set(nsKey(p.namespace, p.name), choice.node);
        const u = used.get(choice.node) ?? { cpuMilli: 0, memoryBytes: 0 };
        used.set(choice.node, {
          cpuMilli: u.cpuMilli + req.cpuMilli,
          memoryBytes: u.memoryBytes + req.memoryBytes,
        });
        logger.info({ pod: nsKey(p.namespace, p.name), node: choice.node }, 'pod scheduled');
      }
    }
    // Endpoints.
    const views = snap.pods.map((p) => {
      const k = nsKey(p.namespace, p.name);
      const v = podView(p, snap.bindings.get(k) ?? null, snap.statuses.get(k));
      // A pod on a node whose agent is gone is not an endpoint.
      const alive = v.node_name !== null && snap.heartbeats.has(v.node_name);
      return {
        name: v.name,
        namespace: v.namespace,
        labels: v.labels,
        phase: alive ? v.phase : 'Unknown',
        podIp: v.pod_ip,
        nodeName: v.node_name,
      };
    });
    for (const svc of snap.services) {
      const eps = selectEndpoints(svc.namespace, svc.selector, views);
      const cur = snap.endpoints.get(nsKey(svc.namespace, svc.name));
      if (cur !== undefined && JSON.stringify(cur) === JSON.stringify(eps)) continue;
      await repo.setEndpoints(svc.namespace, svc.name, eps);
    }
  }

  async function loop(): Promise<void> {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        if (closed) break;
        try {
          await pass();
        } catch (err) {
          if (!closed) logger.warn({ err }, 'controller pass failed');
        }
      } while (again);
    } finally {
      running = false;
    }
  }

  const watcher = await repo.watchAll(() => void loop());
  const timer = setInterval(() => void loop(), periodMs);
  timer.unref();
  void loop();
  return {
    kick: () => void loop(),
    close: async () => {
      closed = true;
      clearInterval(timer);
      await watcher.cancel();
      for (let i = 0; i < 100 && running; i++) await new Promise((r) => setTimeout(r, 20));
    },
  };
}
