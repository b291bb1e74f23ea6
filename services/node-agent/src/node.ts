/**
 * Node registration: this machine as a k8shost node with its real capacity (CPU count, total memory) and
 * allocatable, a pod CIDR claimed from the cluster CIDR (create-if-absent per /24, kept across restarts),
 * and a heartbeat key bound to a lease the agent keeps alive. When the agent stops (close revokes the
 * lease; a crash lets it expire), the key goes and k8shost reports the node NotReady.
 */
import { cpus, totalmem } from 'node:os';
import { K8S_KEYS } from '@photoncloud/k8shost-api';
import type { NodeRecord } from '@photoncloud/k8shost-api';
import type { Logger } from '@photoncloud/log';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';
import { allocatable, formatCpu, formatMemory } from './core/quantity.js';
import { nodeSubnet, nodeSubnetCount } from './core/pod-ip.js';

/** How to register. */
export interface NodeRegistrationOptions {
  store: Store;
  nodeName: string;
  /** Cluster pod CIDR; each node claims a /24 of it. */
  clusterCidr: string;
  /** URL of this agent's HTTP API (pod logs). */
  agentUrl: string | null;
  /** Heartbeat lease TTL in seconds; default 10. */
  leaseTtlSeconds?: number;
  logger: Logger;
}

/** A registered node. */
export interface NodeRegistration {
  record: NodeRecord;
  /** Stop heartbeating and revoke the lease (the node becomes NotReady at once). */
  close(): Promise<void>;
}

async function claimPodCidr(store: Store, nodeName: string, clusterCidr: string): Promise<string> {
  const prefix = bytes(`${K8S_KEYS.podCidr(0).slice(0, -1)}`);
  const res = await store.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
  for (const kv of res.kvs) {
    if (text(kv.value) !== nodeName) continue;
    const idx = Number(text(kv.key).slice(text(prefix).length));
    const cidr = nodeSubnet(clusterCidr, idx);
    if (cidr !== null) return cidr;
  }
  const count = nodeSubnetCount(clusterCidr);
  // Index 0 is left unused so node subnets read like the guide's (10.244.1.0/24 …).
  for (let i = 1; i < count; i++) {
    const key = bytes(K8S_KEYS.podCidr(i));
    const t = await store.txn({
      compare: [{ key, target: 'create', result: 'equal', createRevision: 0 }],
      success: [{ put: { key, value: bytes(nodeName) } }],
      failure: [],
    });
    if (t.succeeded) {
      const cidr = nodeSubnet(clusterCidr, i);
      if (cidr !== null) return cidr;
    }
  }
  throw new Error(`no free /24 left in the cluster CIDR ${clusterCidr}`);
}

/** Register this machine and start heartbeating. */
export async function registerNode(opts: NodeRegistrationOptions): Promise<NodeRegistration> {
  const { store, nodeName } = opts;
  const ttl = opts.leaseTtlSeconds ?? 10;
  const cpuCount = Math.max(1, cpus().length);
  const mem = totalmem();
  const alloc = allocatable(cpuCount, mem);
  const podCidr = await claimPodCidr(store, nodeName, opts.clusterCidr);
  const record: NodeRecord = {
    name: nodeName,
    capacity_cpu: formatCpu(cpuCount * 1000),
    capacity_memory: formatMemory(mem),
    allocatable_cpu: formatCpu(alloc.cpuMilli),
    allocatable_memory: formatMemory(alloc.memoryBytes),
    pod_cidr: podCidr,
    agent_url: opts.agentUrl,
    registered_at: new Date().toISOString(),
  };
  await store.put({ key: bytes(K8S_KEYS.node(nodeName)), value: bytes(JSON.stringify(record)) });

  let lease = '';
  const beat = async (): Promise<void> => {
    if (lease !== '') {
      try {
        const r = await store.leaseKeepAlive(lease);
        if (r.ttl > 0) return;
      } catch {
        // The lease is gone (expired while we were stalled): take a new one below.
      }
    }
    const g = await store.leaseGrant(ttl);
    lease = g.id;
    await store.put({ key: bytes(K8S_KEYS.heartbeat(nodeName)), value: bytes(record.registered_at), lease });
  };
  await beat();
  let closed = false;
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      if (closed) return;
      inFlight = beat().catch((err: unknown) => opts.logger.warn({ err }, 'node heartbeat failed'));
    },
    Math.max(500, (ttl * 1000) / 3),
  );
  opts.logger.info(
    { node: nodeName, pod_cidr: podCidr, cpu: record.capacity_cpu, memory: record.capacity_memory },
    'node registered',
  );
  return {
    record,
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await inFlight;
      if (lease !== '') await store.leaseRevoke(lease).catch(() => undefined);
    },
  };
}
