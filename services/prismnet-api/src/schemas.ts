/**
 * PrismNET's REST wire types (guide §7). The same TypeBox schemas validate requests in the server's
 * routes, document them in its OpenAPI, and type the client. Addresses and CIDR blocks are strings in
 * their canonical form (IPv6 per RFC 5952); times are RFC 3339 UTC.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

const Name = Type.String({ minLength: 1, maxLength: 255, description: 'Display name' });
const Description = Type.String({ maxLength: 1024, description: 'Free text' });
const TenantId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' });
/** Resource IDs: letters, digits, `.`, `_`, `-` (they become store key segments, so never `/`). */
export const ID_PATTERN = '^[A-Za-z0-9._-]+$';
const Id = Type.String({ minLength: 1, maxLength: 128, pattern: ID_PATTERN });
const CidrText = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'CIDR block, e.g. 10.0.0.0/16 or fd00::/64',
});
const IpText = Type.String({ minLength: 1, maxLength: 64, description: 'IPv4 or IPv6 address' });
const Status = Type.Literal('active', { description: 'Lifecycle status' });

/** A VPC. */
export const Vpc = Type.Object({
  id: Type.String({ description: 'vpc-<random>' }),
  name: Type.String(),
  org_id: Type.String(),
  project_id: Type.String(),
  cidr_block: Type.String({ description: 'Primary block (IPv4 /8–/28, or IPv6 /32–/120)' }),
  ipv6_cidr_block: Type.Union([Type.String(), Type.Null()], { description: 'Optional IPv6 block' }),
  description: Type.String(),
  status: Status,
  created_at: Type.String({ format: 'date-time' }),
});
/** A VPC. */
export type Vpc = Static<typeof Vpc>;

/** Body of `POST /api/v1/vpcs`. org_id/project_id default to the caller's token scope. */
export const CreateVpc = Type.Object(
  {
    name: Name,
    org_id: Type.Optional(TenantId),
    project_id: Type.Optional(TenantId),
    cidr_block: CidrText,
    ipv6_cidr_block: Type.Optional(CidrText),
    description: Type.Optional(Description),
  },
  { additionalProperties: false },
);
/** Body of a VPC creation. */
export type CreateVpc = Static<typeof CreateVpc>;

/** A subnet. org_id/project_id are its VPC's. */
export const Subnet = Type.Object({
  id: Type.String({ description: 'subnet-<random>' }),
  name: Type.String(),
  vpc_id: Type.String(),
  org_id: Type.String(),
  project_id: Type.String(),
  cidr_block: Type.String(),
  ip_version: Type.Union([Type.Literal(4), Type.Literal(6)]),
  gateway_ip: Type.String(),
  reserved_ips: Type.Array(Type.String(), { description: 'Addresses never allocated to ports' }),
  description: Type.String(),
  status: Status,
  created_at: Type.String({ format: 'date-time' }),
});
/** A subnet. */
export type Subnet = Static<typeof Subnet>;

/** Body of `POST /api/v1/subnets`. */
export const CreateSubnet = Type.Object(
  {
    name: Name,
    vpc_id: Id,
    cidr_block: Type.String({
      ...CidrText,
      description: 'Inside the VPC, overlapping no other subnet of it; IPv4 /16–/28, IPv6 /64–/120',
    }),
    gateway_ip: Type.Optional(Type.String({ ...IpText, description: 'Default: the first usable address' })),
    reserved_ips: Type.Optional(
      Type.Array(IpText, { maxItems: 256, description: 'Addresses never allocated to ports' }),
    ),
    description: Type.Optional(Description),
    org_id: Type.Optional(TenantId),
    project_id: Type.Optional(TenantId),
  },
  { additionalProperties: false },
);
/** Body of a subnet creation. */
export type CreateSubnet = Static<typeof CreateSubnet>;

/** A port: one address (and MAC) in a subnet, usually attached to a VM or pod. */
export const Port = Type.Object({
  id: Type.String({ description: 'port-<random>' }),
  name: Type.String(),
  subnet_id: Type.String(),
  vpc_id: Type.String(),
  org_id: Type.String(),
  project_id: Type.String(),
  ip_address: Type.String(),
  mac_address: Type.String(),
  device_owner: Type.String({ description: 'e.g. compute:vm' }),
  device_id: Type.String({ description: 'e.g. the VM ID; empty when unattached' }),
  security_group_ids: Type.Array(Type.String()),
  status: Status,
  created_at: Type.String({ format: 'date-time' }),
});
/** A port. */
export type Port = Static<typeof Port>;

/** Most security groups on one port. */
export const MAX_PORT_SECURITY_GROUPS = 16;

/** Body of `POST /api/v1/ports`. */
export const CreatePort = Type.Object(
  {
    subnet_id: Id,
    ip_address: Type.Optional(
      Type.String({ ...IpText, description: 'Fixed address; default: the next free one' }),
    ),
    mac_address: Type.Optional(
      Type.String({
        maxLength: 17,
        description: 'Unicast MAC; default: a generated locally administered one',
      }),
    ),
    device_owner: Type.Optional(Type.String({ maxLength: 255 })),
    device_id: Type.Optional(Type.String({ maxLength: 255 })),
    name: Type.Optional(Type.String({ maxLength: 255 })),
    security_group_ids: Type.Optional(
      Type.Array(Id, { maxItems: MAX_PORT_SECURITY_GROUPS, uniqueItems: true }),
    ),
    org_id: Type.Optional(TenantId),
    project_id: Type.Optional(TenantId),
  },
  { additionalProperties: false },
);
/** Body of a port creation. */
export type CreatePort = Static<typeof CreatePort>;

/** A security group rule. */
export const SecurityGroupRule = Type.Object({
  id: Type.String({ description: 'sgr-<random>' }),
  direction: Type.Union([Type.Literal('ingress'), Type.Literal('egress')]),
  protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('icmp'), Type.Literal('any')]),
  ethertype: Type.Union([Type.Literal('IPv4'), Type.Literal('IPv6')]),
  port_range_min: Type.Union([Type.Integer(), Type.Null()]),
  port_range_max: Type.Union([Type.Integer(), Type.Null()]),
  remote_cidr: Type.Union([Type.String(), Type.Null()]),
  remote_group_id: Type.Union([Type.String(), Type.Null()]),
  description: Type.String(),
});
/** A security group rule. */
export type SecurityGroupRule = Static<typeof SecurityGroupRule>;

/** Body of `POST /api/v1/security-groups/{id}/rules`. */
export const CreateSecurityGroupRule = Type.Object(
  {
    direction: Type.Union([Type.Literal('ingress'), Type.Literal('egress')]),
    protocol: Type.Optional(
      Type.Union([Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('icmp'), Type.Literal('any')], {
        description: 'Default any',
      }),
    ),
    ethertype: Type.Optional(
      Type.Union([Type.Literal('IPv4'), Type.Literal('IPv6')], {
        description: 'Default: the remote CIDR’s, else IPv4',
      }),
    ),
    port_range_min: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Null()])),
    port_range_max: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Null()])),
    remote_cidr: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    remote_group_id: Type.Optional(Type.Union([Id, Type.Null()])),
    description: Type.Optional(Description),
  },
  { additionalProperties: false },
);
/** Body of a rule creation. */
export type CreateSecurityGroupRule = Static<typeof CreateSecurityGroupRule>;

/** A security group. */
export const SecurityGroup = Type.Object({
  id: Type.String({ description: 'sg-<random>' }),
  name: Type.String(),
  org_id: Type.String(),
  project_id: Type.String(),
  description: Type.String(),
  rules: Type.Array(SecurityGroupRule),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
/** A security group. */
export type SecurityGroup = Static<typeof SecurityGroup>;

/** Body of `POST /api/v1/security-groups`. */
export const CreateSecurityGroup = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    org_id: Type.Optional(TenantId),
    project_id: Type.Optional(TenantId),
  },
  { additionalProperties: false },
);
/** Body of a security group creation. */
export type CreateSecurityGroup = Static<typeof CreateSecurityGroup>;

/** Body of `PATCH /api/v1/security-groups/{id}`. */
export const UpdateSecurityGroup = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Description) },
  { additionalProperties: false, minProperties: 1 },
);
/** Body of a security group update. */
export type UpdateSecurityGroup = Static<typeof UpdateSecurityGroup>;

/** Result of a delete. */
export const Deleted = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });
/** Result of a delete. */
export type Deleted = Static<typeof Deleted>;

/** Path parameters of routes on one resource. */
export const IdParams = Type.Object({ id: Id });

/** `?org_id=&project_id=`: the tenancy filter every route accepts. */
export const scopeQueryProperties = {
  org_id: Type.Optional(TenantId),
  project_id: Type.Optional(TenantId),
};
