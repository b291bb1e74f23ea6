/**
 * CIDR blocks: parse, normalise, containment and overlap, for IPv4 and IPv6 alike (values are `bigint`).
 * Two prefix-aligned blocks either nest or are disjoint, so overlap is containment one way or the other.
 */
import { familyBits, formatIp, parseIp } from './ip.js';
import type { IpAddress, IpFamily } from './ip.js';

/** A CIDR block; `network` has no host bits set. */
export interface Cidr {
  family: IpFamily;
  network: bigint;
  prefix: number;
}

/** Result of `parseCidr`. */
export type CidrParse =
  | {
      ok: true;
      /** The block, host bits cleared. */
      cidr: Cidr;
      /** True when the text had host bits set (e.g. 10.0.0.5/24), i.e. it was not already normalised. */
      hostBitsSet: boolean;
    }
  | { ok: false; reason: string };

/** Mask of the network part of a `prefix`-bit block. */
export function prefixMask(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = (1n << bits) - 1n;
  return (all >> BigInt(prefix)) ^ all;
}

/** Parse `a.b.c.d/n` or `x:…:y/n`. */
export function parseCidr(s: string): CidrParse {
  const slash = s.indexOf('/');
  if (slash < 0) return { ok: false, reason: 'missing "/prefix"' };
  const ip = parseIp(s.slice(0, slash));
  if (ip === undefined) return { ok: false, reason: 'not an IPv4 or IPv6 address before "/"' };
  const bits = s.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(bits)) return { ok: false, reason: 'prefix length is not a number' };
  const prefix = Number(bits);
  if (prefix > familyBits(ip.family)) {
    return { ok: false, reason: `prefix length must be at most ${familyBits(ip.family)}` };
  }
  const network = ip.value & prefixMask(ip.family, prefix);
  return { ok: true, cidr: { family: ip.family, network, prefix }, hostBitsSet: network !== ip.value };
}

/** Canonical text: `network/prefix`. */
export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.network })}/${c.prefix}`;
}

/** Number of addresses in the block. */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(familyBits(c.family) - c.prefix);
}

/** Last address of the block (the broadcast address in IPv4). */
export function cidrLast(c: Cidr): bigint {
  return c.network + cidrSize(c) - 1n;
}

/** True when `ip` lies inside `c`. */
export function cidrContainsIp(c: Cidr, ip: IpAddress): boolean {
  return ip.family === c.family && ip.value >= c.network && ip.value <= cidrLast(c);
}

/** True when every address of `inner` lies inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    (inner.network & prefixMask(outer.family, outer.prefix)) === outer.network
  );
}

/** True when the blocks share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}
