/**
 * The node agent in the service registry (HTTP 8092: /health, /metrics, pod logs): registers this machine
 * as a k8shost node and runs its runtime components (pods on runc; VMs). Needs root (runc, netns, nft).
 * Environment: PHOTONCLOUD_NODE_NAME, PHOTONCLOUD_POD_CIDR (10.244.0.0/16), PHOTONCLOUD_POD_BRIDGE (pc0),
 * PHOTONCLOUD_NFT_TABLE (photoncloud), PHOTONCLOUD_K8SHOST_SERVICE_CIDR (10.96.0.0/16),
 * PHOTONCLOUD_K8SHOST_REGISTRY (image registry for short names, e.g. 127.0.0.1:5000).
 */
import { restService } from './rest-service.js';

/** Node agent's entry for `photoncloud up` / `photoncloud serve node-agent`. */
export const nodeAgent = restService({
  name: 'node-agent',
  title: 'Node agent',
  summary: 'this machine as a node: pods on runc (and VMs), heartbeats, service dataplane',
  defaultPort: 8092,
  description: 'health, metrics, pod logs',
  async start(opts) {
    const { startNodeAgent } = await import('../../../../services/node-agent/src/server.js');
    return startNodeAgent(opts);
  },
});
