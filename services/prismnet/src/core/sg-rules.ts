/**
 * Security group rules: normalisation and validation beyond what the schema checks (port ranges only
 * for TCP/UDP and with min <= max, remote CIDR or remote group but not both, the CIDR normalised and of
 * the rule's ethertype), duplicate detection, and the default rules of a new group (stateful
 * semantics, as in OpenStack/AWS: ingress is denied unless a rule allows it; egress is allowed to
 * everywhere by one rule per ethertype). Enforcement in a dataplane is not part of this service.
 */
import { ValidationError } from '@photoncloud/errors';
import { formatCidr, parseCidr } from './cidr.js';

/** Traffic direction, seen from the port. */
export type Direction = 'ingress' | 'egress';
/** IP protocol a rule matches. */
export type Protocol = 'tcp' | 'udp' | 'icmp' | 'any';
/** IP version a rule matches. */
export type Ethertype = 'IPv4' | 'IPv6';

/** A rule as a client sends it. */
export interface RuleInput {
  direction: Direction;
  protocol?: Protocol | undefined;
  ethertype?: Ethertype | undefined;
  port_range_min?: number | null | undefined;
  port_range_max?: number | null | undefined;
  remote_cidr?: string | null | undefined;
  remote_group_id?: string | null | undefined;
  description?: string | undefined;
}

/** A stored rule. */
export interface Rule {
  id: string;
  direction: Direction;
  protocol: Protocol;
  ethertype: Ethertype;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_cidr: string | null;
  remote_group_id: string | null;
  description: string;
}

/** Normalise and validate a rule; throws ValidationError (400) with `details.field`. */
export function normaliseRule(input: RuleInput, id: string): Rule {
  const protocol = input.protocol ?? 'any';
  const min = input.port_range_min ?? null;
  const max = input.port_range_max ?? null;
  const ports = protocol === 'tcp' || protocol === 'udp';
  if (!ports && (min !== null || max !== null)) {
    throw new ValidationError(
      'port_range_min',
      'protocol',
      `Port ranges apply only to tcp and udp rules (protocol is ${protocol})`,
      {
        details: { location: 'body' },
      },
    );
  }
  let lo = min;
  let hi = max;
  if (ports) {
    // One bound given means a single port.
    lo = min ?? max;
    hi = max ?? min;
    for (const [field, v] of [
      ['port_range_min', lo],
      ['port_range_max', hi],
    ] as const) {
      if (v !== null && (!Number.isInteger(v) || v < 1 || v > 65535)) {
        throw new ValidationError(field, 'range', `${field} must be an integer from 1 to 65535`, {
          details: { location: 'body', value: v },
        });
      }
    }
    if (lo !== null && hi !== null && lo > hi) {
      throw new ValidationError(
        'port_range_min',
        'order',
        `port_range_min (${lo}) must not exceed port_range_max (${hi})`,
        {
          details: { location: 'body' },
        },
      );
    }
  }
  const remoteGroup = input.remote_group_id ?? null;
  let remoteCidr: string | null = null;
  let ethertype = input.ethertype;
  if (input.remote_cidr !== undefined && input.remote_cidr !== null) {
    if (remoteGroup !== null) {
      throw new ValidationError('remote_cidr', 'exclusive', 'Give remote_cidr or remote_group_id, not both', {
        details: { location: 'body' },
      });
    }
    const parsed = parseCidr(input.remote_cidr);
    if (!parsed.ok) {
      throw new ValidationError(
        'remote_cidr',
        'format',
        `remote_cidr is not a valid CIDR block: ${parsed.reason}`,
        {
          details: { location: 'body', value: input.remote_cidr },
        },
      );
    }
    const fam: Ethertype = parsed.cidr.family === 4 ? 'IPv4' : 'IPv6';
    if (ethertype !== undefined && ethertype !== fam) {
      throw new ValidationError(
        'remote_cidr',
        'ethertype',
        `remote_cidr is an ${fam} block but ethertype is ${ethertype}`,
        {
          details: { location: 'body' },
        },
      );
    }
    ethertype = fam;
    remoteCidr = formatCidr(parsed.cidr);
  }
  return {
    id,
    direction: input.direction,
    protocol,
    ethertype: ethertype ?? 'IPv4',
    port_range_min: ports ? lo : null,
    port_range_max: ports ? hi : null,
    remote_cidr: remoteCidr,
    remote_group_id: remoteGroup,
    description: input.description ?? '',
  };
}

/** True when two rules match the same traffic (IDs and descriptions aside). */
export function sameRule(a: Rule, b: Rule): boolean {
  return (
    a.direction === b.direction &&
    a.protocol === b.protocol &&
    a.ethertype === b.ethertype &&
    a.port_range_min === b.port_range_min &&
    a.port_range_max === b.port_range_max &&
    a.remote_cidr === b.remote_cidr &&
    a.remote_group_id === b.remote_group_id
  );
}

/** The rules of a new group: allow all egress, IPv4 and IPv6; no ingress rule (default deny). */
export function defaultRules(newId: () => string): Rule[] {
  return [
    normaliseRule(
      {
        direction: 'egress',
        protocol: 'any',
        remote_cidr: '0.0.0.0/0',
        description: 'Allow all outbound IPv4',
      },
      newId(),
    ),
    normaliseRule(
      { direction: 'egress', protocol: 'any', remote_cidr: '::/0', description: 'Allow all outbound IPv6' },
      newId(),
    ),
  ];
}
