/**
 * ClusterIP allocation, pure: the lowest free host address of the service CIDR, skipping the network
 * address, the first host (reserved, as Kubernetes reserves it for its own API service) and the broadcast
 * address. Uniqueness under concurrency comes from the caller's create-if-absent transaction on the IP's key.
 */
import { cidrSize, formatIp4 } from './ipv4.js';
import type { Cidr4 } from './ipv4.js';

/** The first free address at or after `start` (wrapping once), or null when the CIDR is full. */
export function pickClusterIp(cidr: Cidr4, used: ReadonlySet<string>, start = 0): string | null {
  const size = cidrSize(cidr);
  const first = 2;
  const count = size - first - 1;
  if (count <= 0) return null;
  for (let i = 0; i < count; i++) {
    const off = first + ((((start + i) % count) + count) % count);
    const ip = formatIp4(cidr.base + off);
    if (!used.has(ip)) return ip;
  }
  return null;
}
