/**
 * The node agent in the service registry (HTTP 8092: /health, /metrics, pod logs): registers this machine
 * as a k8shost node and runs its runtime components (pods on runc; VMs). Needs root (runc, netns, nft).
 * Environment: PHOTONCLOUD_NODE_NAME, PHOTONCLOUD_POD_CIDR (10.244.0.0/16), PHOTONCLOUD_POD_BRIDGE (pc0),
 * PHOTONCLOUD_NFT_TABLE (photoncloud), PHOTONCLOUD_K8SHOST_SERVICE_CIDR (10.96.0.0/16),
 * PHOTONCLOUD_K8SHOST_REGISTRY (image registry for short names, e.g. 127.0.0.1:5000).
 */
import type { ServiceDefinition } from '../services.js';

/** The node agent's entry for `photoncloud up` / `photoncloud serve node-agent`. */
export const nodeAgent: ServiceDefinition = {
  name: 'node-agent',
  title: 'Node agent',
  summary: 'this machine as a node: pods on runc (and VMs), heartbeats, service dataplane',
  listeners: [
    {
      name: 'http',
      defaultPort: 8092,
      protocol: 'http',
      description: 'health, metrics, pod logs',
      flag: '--http-port',
    },
  ],
  async start(ctx) {
    const { startNodeAgent } = await import('../../../../services/node-agent/src/server.js');
    const store = await ctx.openStore();
    const agent = await startNodeAgent({
      store,
      dataDir: ctx.dataDir,
      host: ctx.host,
      port: ctx.ports['http'] ?? 8092,
      auth: ctx.auth,
      logger: ctx.logger,
    });
    const url = agent.url;
    return {
      listeners: [
        {
          name: 'http',
          protocol: 'http',
          description: 'health, metrics, pod logs',
          address: url.replace(/^http:\/\//, ''),
          url,
        },
      ],
      close: () => agent.close(),
    };
  },
};
