/**
 * k8shost in the service registry (guide §5: HTTP 8085): pods, ClusterIP services and nodes, with its
 * scheduler and endpoints controller. State lives in ChainFire; pods run on node agents
 * (`photoncloud serve node-agent`). The service CIDR comes from PHOTONCLOUD_K8SHOST_SERVICE_CIDR
 * (default 10.96.0.0/16; node agents must use the same).
 */
import type { ServiceDefinition } from '../services.js';

/** k8shost's entry for `photoncloud up` / `photoncloud serve k8shost`. */
export const k8shost: ServiceDefinition = {
  name: 'k8shost',
  title: 'k8shost',
  summary: 'pods on runc node agents, ClusterIP services and nodes',
  listeners: [
    { name: 'http', defaultPort: 8085, protocol: 'http', description: 'REST API', flag: '--http-port' },
  ],
  async start(ctx) {
    const { startK8sHostServer } = await import('../../../../services/k8shost/src/server.js');
    const store = await ctx.openStore();
    const cidr = process.env['PHOTONCLOUD_K8SHOST_SERVICE_CIDR'];
    const server = await startK8sHostServer({
      store,
      host: ctx.host,
      port: ctx.ports['http'] ?? 8085,
      auth: ctx.auth,
      logger: ctx.logger,
      dataDir: ctx.dataDir,
      ...(cidr === undefined ? {} : { serviceCidr: cidr }),
    });
    const url = server.url;
    return {
      listeners: [
        {
          name: 'http',
          protocol: 'http',
          description: 'REST API',
          address: url.replace(/^http:\/\//, ''),
          url,
        },
      ],
      close: () => server.close(),
    };
  },
};
