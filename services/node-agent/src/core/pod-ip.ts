/** Pod network addressing on a node, pure: the node's /24 inside the cluster CIDR, and pod IPs in it. */
import { formatIp4, parseCidr4 } from './ipv4.js';

/** A node's pod network: `10.244.3.0/24`, gateway `.1` on the bridge. */
export interface NodePodNet {
  cidr: string;
  gateway: string;
  prefix: number;
  /** Assignable pod addresses in order (.2 … .254). */
  hosts: string[];
}

/** The `index`-th /24 of a cluster CIDR (a /16: 0…255), or null when out of range. */
export function nodeSubnet(clusterCidr: string, index: number): string | null {
  const c = parseCidr4(clusterCidr);
  if (c === null || c.prefix > 24) return null;
  const count = 2 ** (24 - c.prefix);
  if (index < 0 || index >= count) return null;
  return `${formatIp4(c.base + index * 256)}/24`;
}

/** Number of /24s in a cluster CIDR. */
export function nodeSubnetCount(clusterCidr: string): number {
  const c = parseCidr4(clusterCidr);
  return c === null || c.prefix > 24 ? 0 : 2 ** (24 - c.prefix);
}

/** The addressing of a node's /24. */
export function podNet(cidr: string): NodePodNet | null {
  const c = parseCidr4(cidr);
  if (c === null || c.prefix !== 24) return null;
  const hosts: string[] = [];
  for (let i = 2; i < 255; i++) hosts.push(formatIp4(c.base + i));
  return { cidr, gateway: formatIp4(c.base + 1), prefix: 24, hosts };
}

/** The first host not in `used`, or null. */
export function pickPodIp(net: NodePodNet, used: ReadonlySet<string>): string | null {
  return net.hosts.find((h) => !used.has(h)) ?? null;
}
