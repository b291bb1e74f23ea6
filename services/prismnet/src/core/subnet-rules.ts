/**
 * The rules a VPC or subnet CIDR must follow, as pure functions that throw the API error the caller
 * should see: bad text or a size out of range is 400 VALIDATION_ERROR (with `details.field`), a subnet
 * outside its VPC is 400, and a subnet overlapping a sibling is 409 CONFLICT (the space is taken, which
 * is a state conflict rather than a malformed request).
 */
import { ConflictError, ValidationError } from '@photoncloud/errors';
import { cidrContains, cidrContainsIp, cidrLast, cidrsOverlap, formatCidr, parseCidr } from './cidr.js';
import type { Cidr } from './cidr.js';
import { parseIp } from './ip.js';
import type { IpAddress, IpFamily } from './ip.js';

/** Allowed prefix lengths, inclusive. */
export interface PrefixRange {
  min: number;
  max: number;
}

/** Prefix lengths a VPC block may have, per family. */
export const VPC_PREFIX: Record<IpFamily, PrefixRange> = { 4: { min: 8, max: 28 }, 6: { min: 32, max: 120 } };

/** Prefix lengths a subnet may have, per family (/16–/28 for IPv4, /64–/120 for IPv6). */
export const SUBNET_PREFIX: Record<IpFamily, PrefixRange> = {
  4: { min: 16, max: 28 },
  6: { min: 64, max: 120 },
};

/** Most entries in a subnet's `reserved_ips`. */
export const MAX_RESERVED_IPS = 256;

/**
 * Parse a CIDR field strictly: valid text, the family asked for, host bits clear (a block written with
 * host bits is refused with the normalised form as hint: silently moving it would surprise), and a
 * prefix length within `sizes`.
 */
export function parseCidrField(
  field: string,
  value: string,
  sizes: Record<IpFamily, PrefixRange>,
  families: readonly IpFamily[] = [4, 6],
): Cidr {
  const parsed = parseCidr(value);
  if (!parsed.ok) {
    throw new ValidationError(field, 'format', `${field} is not a valid CIDR block: ${parsed.reason}`, {
      details: { location: 'body', value },
      hint: 'Write it as a.b.c.d/n (e.g. 10.0.0.0/16) or an IPv6 block (e.g. fd00::/64)',
    });
  }
  const { cidr } = parsed;
  if (!families.includes(cidr.family)) {
    throw new ValidationError(field, 'family', `${field} must be an IPv${families[0] ?? 4} block`, {
      details: { location: 'body', value },
    });
  }
  if (parsed.hostBitsSet) {
    throw new ValidationError(
      field,
      'network',
      `${field} has host bits set; did you mean ${formatCidr(cidr)}?`,
      {
        details: { location: 'body', value, normalized: formatCidr(cidr) },
        hint: `Use ${formatCidr(cidr)}`,
      },
    );
  }
  const range = sizes[cidr.family];
  if (cidr.prefix < range.min || cidr.prefix > range.max) {
    throw new ValidationError(
      field,
      'prefix_length',
      `${field} must be between /${range.min} and /${range.max} for IPv${cidr.family} (got /${cidr.prefix})`,
      { details: { location: 'body', value, min: range.min, max: range.max } },
    );
  }
  return cidr;
}

/** A subnet already in the VPC. */
export interface SiblingSubnet {
  id: string;
  cidr: Cidr;
}

/** What a subnet creation asks for. */
export interface SubnetRequest {
  cidr_block: string;
  gateway_ip?: string | undefined;
  reserved_ips?: readonly string[] | undefined;
}

/** A validated subnet plan. */
export interface SubnetPlan {
  cidr: Cidr;
  gateway: IpAddress;
  /** Extra reserved addresses, canonical, deduplicated, sorted. */
  reserved: IpAddress[];
}

/** True when `ip` is the network address, or (IPv4) the broadcast address, of `c`. */
export function isNetworkOrBroadcast(c: Cidr, ip: IpAddress): boolean {
  if (ip.value === c.network) return true;
  return c.family === 4 && ip.value === cidrLast(c);
}

function hostAddress(field: string, raw: string, cidr: Cidr): IpAddress {
  const ip = parseIp(raw);
  if (ip === undefined) {
    throw new ValidationError(field, 'format', `${field} is not a valid IP address`, {
      details: { location: 'body', value: raw },
    });
  }
  if (!cidrContainsIp(cidr, ip)) {
    throw new ValidationError(field, 'within_subnet', `${field} ${raw} is not inside ${formatCidr(cidr)}`, {
      details: { location: 'body', value: raw, cidr_block: formatCidr(cidr) },
    });
  }
  if (isNetworkOrBroadcast(cidr, ip)) {
    throw new ValidationError(
      field,
      'host_address',
      `${field} ${raw} is the ${ip.value === cidr.network ? 'network' : 'broadcast'} address of ${formatCidr(cidr)}`,
      { details: { location: 'body', value: raw } },
    );
  }
  return ip;
}

/**
 * Validate a new subnet against its VPC blocks and siblings; throws ValidationError (400) or
 * ConflictError (409, overlap). The gateway defaults to the first usable address.
 */
export function planSubnet(
  vpcBlocks: readonly Cidr[],
  siblings: readonly SiblingSubnet[],
  req: SubnetRequest,
): SubnetPlan {
  const cidr = parseCidrField('cidr_block', req.cidr_block, SUBNET_PREFIX);
  const sameFamily = vpcBlocks.filter((b) => b.family === cidr.family);
  if (sameFamily.length === 0) {
    throw new ValidationError(
      'cidr_block',
      'within_vpc',
      `The VPC has no IPv${cidr.family} block, so an IPv${cidr.family} subnet cannot be placed in it`,
      { details: { location: 'body', vpc_cidr_blocks: vpcBlocks.map(formatCidr) } },
    );
  }
  if (!sameFamily.some((b) => cidrContains(b, cidr))) {
    throw new ValidationError(
      'cidr_block',
      'within_vpc',
      `cidr_block ${formatCidr(cidr)} is not inside the VPC's ${sameFamily.map(formatCidr).join(' / ')}`,
      { details: { location: 'body', vpc_cidr_blocks: sameFamily.map(formatCidr) } },
    );
  }
  const gateway =
    req.gateway_ip === undefined
      ? { family: cidr.family, value: cidr.network + 1n }
      : hostAddress('gateway_ip', req.gateway_ip, cidr);
  const reservedRaw = req.reserved_ips ?? [];
  if (reservedRaw.length > MAX_RESERVED_IPS) {
    throw new ValidationError(
      'reserved_ips',
      'maxItems',
      `reserved_ips may list at most ${MAX_RESERVED_IPS} addresses`,
      {
        details: { location: 'body', limit: MAX_RESERVED_IPS },
      },
    );
  }
  const seen = new Map<bigint, IpAddress>();
  reservedRaw.forEach((raw, i) => {
    const ip = hostAddress(`reserved_ips.${i}`, raw, cidr);
    if (ip.value !== gateway.value) seen.set(ip.value, ip);
  });
  const reserved = [...seen.values()].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const clash = siblings.find((s) => cidrsOverlap(s.cidr, cidr));
  if (clash !== undefined) {
    throw new ConflictError(
      `cidr_block ${formatCidr(cidr)} overlaps subnet ${clash.id} (${formatCidr(clash.cidr)}) in this VPC`,
      {
        details: {
          field: 'cidr_block',
          conflicting_subnet_id: clash.id,
          conflicting_cidr_block: formatCidr(clash.cidr),
        },
        hint: 'Pick a block that no other subnet of the VPC uses',
      },
    );
  }
  return { cidr, gateway, reserved };
}
