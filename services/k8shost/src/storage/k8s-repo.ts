/**
 * k8shost's records in the store. Invariants spanning keys are single transactions:
 * - a pod or service is created only if its key is absent (409 otherwise);
 * - a service takes its cluster IP by creating `cluster-ips/<ip>` only if absent, together with its
 *   record, so no IP is handed out twice; deleting the service releases the IP in the same transaction;
 * - deleting a pod removes its spec and binding; the node agent sees that, stops the container and
 *   removes the status it wrote.
 */
import { ConflictError, NotFoundError, ServiceUnavailableError } from '@photoncloud/errors';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { Compare, KeyValue, RequestOp, Store } from '@photoncloud/store';
import { K8S_KEYS } from '@photoncloud/k8shost-api';
import type { Endpoint, NodeRecord, PodSpec, PodStatus, Service } from '@photoncloud/k8shost-api';
import { pickClusterIp } from '../core/cluster-ip.js';
import type { Cidr4 } from '../core/ipv4.js';

function json(v: unknown): Uint8Array {
  return bytes(JSON.stringify(v));
}

function parse<T>(kv: KeyValue): T {
  return JSON.parse(text(kv.value)) as T;
}

function absent(key: string): Compare {
  return { key: bytes(key), target: 'create', result: 'equal', createRevision: 0 };
}

function put(key: string, value: unknown): RequestOp {
  return { put: { key: bytes(key), value: typeof value === 'string' ? bytes(value) : json(value) } };
}

function del(key: string): RequestOp {
  return { deleteRange: { key: bytes(key) } };
}

/** Everything the controller and the API read in one go (one revision). */
export interface Snapshot {
  revision: number;
  pods: PodSpec[];
  bindings: Map<string, string>;
  statuses: Map<string, PodStatus>;
  services: Service[];
  endpoints: Map<string, Endpoint[]>;
  nodes: NodeRecord[];
  heartbeats: Set<string>;
}

/** `ns/name`. */
export function nsKey(ns: string, name: string): string {
  return `${ns}/${name}`;
}

/** The last two segments of a key (`…/ns/name` → `ns/name`). */
function tailKey(key: string, prefix: string): string {
  return key.slice(prefix.length);
}

/** k8shost's view of the store. */
export class K8sRepo {
  constructor(
    private readonly store: Store,
    private readonly serviceCidr: Cidr4,
  ) {}

  private async rangePrefix(
    prefix: string,
    revision?: number,
  ): Promise<{ kvs: KeyValue[]; revision: number }> {
    const key = bytes(prefix);
    const res = await this.store.range({
      key,
      rangeEnd: prefixEnd(key),
      ...(revision === undefined ? {} : { revision }),
    });
    return { kvs: res.kvs, revision: res.header.revision };
  }

  /** Read all k8shost state at one revision. */
  async snapshot(): Promise<Snapshot> {
    const first = await this.rangePrefix(K8S_KEYS.pods);
    const rev = first.revision;
    const [b, s, svc, ep, n, hb] = await Promise.all([
      this.rangePrefix(K8S_KEYS.bindings, rev),
      this.rangePrefix(K8S_KEYS.podStatuses, rev),
      this.rangePrefix(K8S_KEYS.services, rev),
      this.rangePrefix(K8S_KEYS.endpoints, rev),
      this.rangePrefix(K8S_KEYS.nodes, rev),
      this.rangePrefix(K8S_KEYS.heartbeats, rev),
    ]);
    return {
      revision: rev,
      pods: first.kvs.map((kv) => parse<PodSpec>(kv)),
      bindings: new Map(b.kvs.map((kv) => [tailKey(text(kv.key), K8S_KEYS.bindings), text(kv.value)])),
      statuses: new Map(
        s.kvs.map((kv) => [tailKey(text(kv.key), K8S_KEYS.podStatuses), parse<PodStatus>(kv)]),
      ),
      services: svc.kvs.map((kv) => parse<Service>(kv)),
      endpoints: new Map(
        ep.kvs.map((kv) => [tailKey(text(kv.key), K8S_KEYS.endpoints), parse<Endpoint[]>(kv)]),
      ),
      nodes: n.kvs.map((kv) => parse<NodeRecord>(kv)),
      heartbeats: new Set(hb.kvs.map((kv) => tailKey(text(kv.key), K8S_KEYS.heartbeats))),
    };
  }

  /** Create a pod (409 if the name is taken in its namespace). */
  async createPod(pod: PodSpec, nodeName: string | null): Promise<void> {
    const key = K8S_KEYS.pod(pod.namespace, pod.name);
    const ops: RequestOp[] = [put(key, pod)];
    if (nodeName !== null) ops.push(put(K8S_KEYS.binding(pod.namespace, pod.name), nodeName));
    // A stale status of an earlier pod with this name is dropped (its uid differs anyway).
    ops.push(del(K8S_KEYS.podStatus(pod.namespace, pod.name)));
    const res = await this.store.txn({ compare: [absent(key)], success: ops, failure: [] });
    if (!res.succeeded) throw new ConflictError(`pod ${pod.namespace}/${pod.name} already exists`);
  }

  /** Delete a pod's spec and binding (404 if absent). The agent cleans up and drops the status. */
  async deletePod(ns: string, name: string): Promise<void> {
    const key = K8S_KEYS.pod(ns, name);
    const res = await this.store.txn({
      compare: [{ key: bytes(key), target: 'version', result: 'greater', version: 0 }],
      success: [del(key), del(K8S_KEYS.binding(ns, name))],
      failure: [],
    });
    if (!res.succeeded) throw new NotFoundError('pod', `${ns}/${name}`);
  }

  /** Bind a pending pod to a node, only if it is still unbound and the pod is the same one. */
  async bindPod(pod: PodSpec, node: string, podModRevision: number): Promise<boolean> {
    const res = await this.store.txn({
      compare: [
        absent(K8S_KEYS.binding(pod.namespace, pod.name)),
        {
          key: bytes(K8S_KEYS.pod(pod.namespace, pod.name)),
          target: 'mod',
          result: 'equal',
          modRevision: podModRevision,
        },
      ],
      success: [put(K8S_KEYS.binding(pod.namespace, pod.name), node)],
      failure: [],
    });
    return res.succeeded;
  }

  /** A pod spec and its mod revision, or null. */
  async getPodSpec(ns: string, name: string): Promise<{ pod: PodSpec; modRevision: number } | null> {
    const res = await this.store.range({ key: bytes(K8S_KEYS.pod(ns, name)) });
    const kv = res.kvs[0];
    return kv === undefined ? null : { pod: parse<PodSpec>(kv), modRevision: kv.modRevision };
  }

  /** Create a service, allocating its cluster IP atomically. */
  async createService(svc: Omit<Service, 'cluster_ip'>, start: number): Promise<Service> {
    const key = K8S_KEYS.service(svc.namespace, svc.name);
    for (let attempt = 0; attempt < 16; attempt++) {
      const used = await this.rangePrefix(K8S_KEYS.clusterIps);
      const usedIps = new Set(used.kvs.map((kv) => text(kv.key).slice(K8S_KEYS.clusterIps.length)));
      const ip = pickClusterIp(this.serviceCidr, usedIps, start + attempt);
      if (ip === null) throw new ConflictError('the service CIDR is exhausted: no cluster IP is free');
      const full: Service = { ...svc, cluster_ip: ip };
      const res = await this.store.txn({
        compare: [absent(key), absent(K8S_KEYS.clusterIp(ip))],
        success: [put(key, full), put(K8S_KEYS.clusterIp(ip), `${svc.namespace}/${svc.name}`)],
        failure: [{ range: { key: bytes(key) } }],
      });
      if (res.succeeded) return full;
      const r = res.responses[0] as { range?: { count: number; kvs: KeyValue[] } } | undefined;
      if ((r?.range?.kvs.length ?? 0) > 0) {
        throw new ConflictError(`service ${svc.namespace}/${svc.name} already exists`);
      }
    }
    throw new ServiceUnavailableError('too many concurrent service creations; retry', 1);
  }

  /** Delete a service, releasing its cluster IP and endpoints (404 if absent). */
  async deleteService(ns: string, name: string): Promise<void> {
    const key = K8S_KEYS.service(ns, name);
    const res = await this.store.range({ key: bytes(key) });
    const kv = res.kvs[0];
    if (kv === undefined) throw new NotFoundError('service', `${ns}/${name}`);
    const svc = parse<Service>(kv);
    const t = await this.store.txn({
      compare: [{ key: bytes(key), target: 'mod', result: 'equal', modRevision: kv.modRevision }],
      success: [del(key), del(K8S_KEYS.clusterIp(svc.cluster_ip)), del(K8S_KEYS.endpoint(ns, name))],
      failure: [],
    });
    if (!t.succeeded) throw new ConflictError(`service ${ns}/${name} changed concurrently; retry`);
  }

  /** Write a service's endpoints (if the service still exists). */
  async setEndpoints(ns: string, name: string, eps: Endpoint[]): Promise<void> {
    await this.store.txn({
      compare: [{ key: bytes(K8S_KEYS.service(ns, name)), target: 'version', result: 'greater', version: 0 }],
      success: [put(K8S_KEYS.endpoint(ns, name), eps)],
      failure: [],
    });
  }

  /** Watch everything under k8shost's prefix. */
  async watchAll(onChange: () => void): Promise<{ cancel(): Promise<void> }> {
    const key = bytes('/photoncloud/k8shost/');
    return this.store.watch({ key, rangeEnd: prefixEnd(key) }, () => onChange());
  }
}
