/** IPv4 CIDR arithmetic (from @photoncloud/k8shost-api, shared with the node agents). Pure. */
import { parseCidr4 as parseCidr } from '@photoncloud/k8shost-api';
import type { Cidr4 } from '@photoncloud/k8shost-api';

export { cidrContains, cidrSize, formatIp4, parseIp4 } from '@photoncloud/k8shost-api';
export type { Cidr4 } from '@photoncloud/k8shost-api';

/** A service network: at most a /30, so that it holds at least two addresses to hand out. */
export function parseCidr4(s: string): Cidr4 | null {
  return parseCidr(s, 30);
}
