/**
 * k8shost in the service registry (guide §5: HTTP 8085): pods, ClusterIP services and nodes, with its
 * scheduler and endpoints controller. State lives in ChainFire; pods run on node agents
 * (`photoncloud serve node-agent`). The service CIDR comes from PHOTONCLOUD_K8SHOST_SERVICE_CIDR
 * (default 10.96.0.0/16; node agents must use the same).
 */
import { restService } from './rest-service.js';

/** k8shost's entry for `photoncloud up` / `photoncloud serve k8shost`. */
export const k8shost = restService({
  name: 'k8shost',
  title: 'k8shost',
  summary: 'pods on runc node agents, ClusterIP services and nodes',
  defaultPort: 8085,
  async start(opts) {
    const { startK8sHostServer } = await import('../../../../services/k8shost/src/server.js');
    const cidr = process.env['PHOTONCLOUD_K8SHOST_SERVICE_CIDR'];
    return startK8sHostServer({ ...opts, ...(cidr === undefined ? {} : { serviceCidr: cidr }) });
  },
});
