/** IPv4 parsing for the node's pod network (from @photoncloud/k8shost-api, shared with k8shost). Pure. */
export { formatIp4, parseCidr4, parseIp4 } from '@photoncloud/k8shost-api';
export type { Cidr4 } from '@photoncloud/k8shost-api';
