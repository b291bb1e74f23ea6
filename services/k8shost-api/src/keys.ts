/**
 * Where k8shost and the node agents keep their shared state in ChainFire ("desired vs observed"):
 * the API writes pod specs and services, the scheduler writes bindings, the controller writes endpoints,
 * the agents write nodes, heartbeats and pod status. Names are DNS-1123 labels, never containing `/`.
 */

/** Root of every k8shost key. */
export const K8SHOST_PREFIX = '/photoncloud/k8shost/';

/** Store keys and prefixes. */
export const K8S_KEYS = {
  pods: `${K8SHOST_PREFIX}pods/`,
  pod: (ns: string, name: string) => `${K8SHOST_PREFIX}pods/${ns}/${name}`,
  /** Scheduler's placement: value = node name. */
  bindings: `${K8SHOST_PREFIX}bindings/`,
  binding: (ns: string, name: string) => `${K8SHOST_PREFIX}bindings/${ns}/${name}`,
  /** Agent-reported status (JSON PodStatus). */
  podStatuses: `${K8SHOST_PREFIX}pod-status/`,
  podStatus: (ns: string, name: string) => `${K8SHOST_PREFIX}pod-status/${ns}/${name}`,
  services: `${K8SHOST_PREFIX}services/`,
  service: (ns: string, name: string) => `${K8SHOST_PREFIX}services/${ns}/${name}`,
  /** One key per allocated cluster IP; value = `ns/name`. */
  clusterIps: `${K8SHOST_PREFIX}cluster-ips/`,
  clusterIp: (ip: string) => `${K8SHOST_PREFIX}cluster-ips/${ip}`,
  /** Controller-computed endpoints of a service (JSON Endpoint[]). */
  endpoints: `${K8SHOST_PREFIX}endpoints/`,
  endpoint: (ns: string, name: string) => `${K8SHOST_PREFIX}endpoints/${ns}/${name}`,
  nodes: `${K8SHOST_PREFIX}nodes/`,
  node: (name: string) => `${K8SHOST_PREFIX}nodes/${name}`,
  /** Exists while the node's agent is alive (bound to its lease). */
  heartbeats: `${K8SHOST_PREFIX}heartbeats/`,
  heartbeat: (name: string) => `${K8SHOST_PREFIX}heartbeats/${name}`,
  /** Per-node pod CIDR claims: value = node name. */
  podCidr: (index: number) => `${K8SHOST_PREFIX}pod-cidrs/${index}`,
  /** Per-node pod IP allocations: value = pod uid. */
  podIps: (node: string) => `${K8SHOST_PREFIX}pod-ips/${node}/`,
  podIp: (node: string, ip: string) => `${K8SHOST_PREFIX}pod-ips/${node}/${ip}`,
} as const;
