/**
 * IP address management, the pure part: which addresses of a subnet may be handed out, how many are
 * left, how a requested fixed address is judged, and which free address to try next. Uniqueness under
 * concurrency is not decided here but by the store (a create-only key per address; see storage/).
 */
import { cidrContainsIp, cidrLast } from './cidr.js';
import type { Cidr } from './cidr.js';
import type { IpAddress } from './ip.js';

/** What IPAM needs to know about a subnet. */
export interface IpamSubnet {
  cidr: Cidr;
  gateway: IpAddress;
  /** Extra reserved addresses (inside the subnet). */
  reserved: readonly IpAddress[];
}

/** Inclusive range of host addresses (IPv4: without network and broadcast; IPv6: without the network). */
export interface HostRange {
  first: bigint;
  last: bigint;
}

/** The host range of a block. /31 and /32 are not allowed for subnets, so the range is never empty. */
export function hostRange(c: Cidr): HostRange {
  return { first: c.network + 1n, last: c.family === 4 ? cidrLast(c) - 1n : cidrLast(c) };
}

/** Addresses never allocated automatically: the gateway and the reserved list. */
export function reservedValues(s: IpamSubnet): Set<bigint> {
  return new Set([s.gateway.value, ...s.reserved.map((r) => r.value)]);
}

/** How many addresses can be allocated in total (host range minus gateway and reserved). */
export function allocatableCount(s: IpamSubnet): bigint {
  const { first, last } = hostRange(s.cidr);
  let n = last - first + 1n;
  for (const v of reservedValues(s)) if (v >= first && v <= last) n--;
  return n;
}

/** Verdict on a requested fixed address. */
export type FixedIpVerdict = 'ok' | 'family' | 'outside' | 'not_host' | 'gateway' | 'reserved';

/** Judge `ip` as a fixed address for a port in `s` (not counting ports that already hold it). */
export function judgeFixedIp(s: IpamSubnet, ip: IpAddress): FixedIpVerdict {
  if (ip.family !== s.cidr.family) return 'family';
  if (!cidrContainsIp(s.cidr, ip)) return 'outside';
  const { first, last } = hostRange(s.cidr);
  if (ip.value < first || ip.value > last) return 'not_host';
  if (ip.value === s.gateway.value) return 'gateway';
  if (s.reserved.some((r) => r.value === ip.value)) return 'reserved';
  return 'ok';
}

/**
 * The first address at or after `start` (wrapping around the range) that is not in `unavailable`, or
 * `undefined` when every address of `range` is unavailable. Walks at most |unavailable| + 1 steps, so
 * it stays cheap in a /64 with few ports.
 */
export function nextFree(
  range: HostRange,
  unavailable: ReadonlySet<bigint>,
  start: bigint = range.first,
): bigint | undefined {
  const size = range.last - range.first + 1n;
  let v = start < range.first || start > range.last ? range.first : start;
  const steps = BigInt(unavailable.size) + 1n < size ? BigInt(unavailable.size) + 1n : size;
  for (let i = 0n; i < steps; i++) {
    if (!unavailable.has(v)) return v;
    v = v === range.last ? range.first : v + 1n;
  }
  return undefined;
}

/** A uniform random bigint in [0, n) from a byte source (rejection sampling, no modulo bias). */
export function randomBelow(n: bigint, randomBytes: (count: number) => Uint8Array): bigint {
  if (n <= 1n) return 0n;
  const bits = (n - 1n).toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  // Each try succeeds with probability > 1/2; 128 tries failing is practically impossible.
  for (let attempt = 0; attempt < 128; attempt++) {
    let v = 0n;
    for (const b of randomBytes(bytes)) v = (v << 8n) | BigInt(b);
    v &= mask;
    if (v < n) return v;
  }
  return 0n;
}
