/**
 * PrismNET's state in the store, with every invariant that spans keys enforced by one transaction:
 * - a subnet is created only if its VPC still exists and no sibling subnet appeared since the overlap
 *   check (a range compare on the VPC's subnet index: nothing created after our read);
 * - a port takes its address by creating `/photoncloud/prismnet/ipam/<subnet>/<ip>` only if absent
 *   (create_revision = 0), together with its record, its MAC key and its security-group index keys;
 *   on conflict it retries with another candidate, so no address is ever handed out twice;
 * - deleting a VPC / subnet / security group succeeds only if its index range is empty at that moment.
 */
import { ConflictError, NotFoundError, ServiceUnavailableError, ValidationError } from '@photoncloud/errors';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { Compare, KeyValue, RequestOp, Store } from '@photoncloud/store';
import type { CreatePort, CreateSubnet, Port, SecurityGroup, Subnet, Vpc } from '@photoncloud/prismnet-api';
import { formatCidr, parseCidr } from '../core/cidr.js';
import type { Cidr } from '../core/cidr.js';
import { formatIp, parseIp } from '../core/ip.js';
import type { IpAddress } from '../core/ip.js';
import {
  allocatableCount,
  hostRange,
  judgeFixedIp,
  nextFree,
  randomBelow,
  reservedValues,
} from '../core/ipam.js';
import type { IpamSubnet } from '../core/ipam.js';
import { generateMac, parseMac } from '../core/mac.js';
import { planSubnet } from '../core/subnet-rules.js';
import { KEYS } from './keys.js';

/** A record with the store revision it was read at (its ETag). */
export interface Stored<T> {
  value: T;
  modRevision: number;
}

/** What the repository needs from its environment. */
export interface RepoDeps {
  store: Store;
  /** `prefix-<random>`. */
  newId(prefix: string): string;
  /** RFC 3339 UTC now. */
  now(): string;
  /** Random bytes (MAC generation, allocation spreading). */
  randomBytes(count: number): Uint8Array;
}

/** How often a transaction is retried when another writer got there first. */
const MAX_ATTEMPTS = 16;
/** Allocation retries: each failed attempt means another port took that address, so progress is global. */
const MAX_ALLOCATION_ATTEMPTS = 64;

function json(v: unknown): Uint8Array {
  return bytes(JSON.stringify(v));
}

function parse<T>(kv: KeyValue): T {
  return JSON.parse(text(kv.value)) as T;
}

function prefixRange(prefix: string): { key: Uint8Array; rangeEnd: Uint8Array } {
  const key = bytes(prefix);
  return { key, rangeEnd: prefixEnd(key) };
}

function exists(key: string): Compare {
  return { key: bytes(key), target: 'version', result: 'greater', version: 0 };
}

function absent(key: string): Compare {
  return { key: bytes(key), target: 'create', result: 'equal', createRevision: 0 };
}

function unchanged(key: string, modRevision: number): Compare {
  return { key: bytes(key), target: 'mod', result: 'equal', modRevision };
}

function emptyPrefix(prefix: string): Compare {
  return { ...prefixRange(prefix), target: 'version', result: 'equal', version: 0 };
}

function put(key: string, value: unknown): RequestOp {
  return { put: { key: bytes(key), value: typeof value === 'string' ? bytes(value) : json(value) } };
}

function del(key: string): RequestOp {
  return { deleteRange: { key: bytes(key) } };
}

function countOf(res: { responses: Array<Record<string, unknown>> }, i: number): number {
  const r = res.responses[i] as { range?: { count: number } } | undefined;
  return r?.range?.count ?? 0;
}

function contention(what: string): ServiceUnavailableError {
  return new ServiceUnavailableError(`Too many concurrent changes while ${what}; retry`, 1);
}

/** The IPAM view of a stored subnet. */
export function ipamSubnet(s: Subnet): IpamSubnet {
  const parsed = parseCidr(s.cidr_block);
  if (!parsed.ok) throw new Error(`stored subnet ${s.id} has a bad cidr_block ${s.cidr_block}`);
  const gateway = parseIp(s.gateway_ip);
  if (gateway === undefined) throw new Error(`stored subnet ${s.id} has a bad gateway_ip`);
  const reserved = s.reserved_ips.map((r) => parseIp(r)).filter((r): r is IpAddress => r !== undefined);
  return { cidr: parsed.cidr, gateway, reserved };
}

function vpcBlocks(vpc: Vpc): Cidr[] {
  const out: Cidr[] = [];
  for (const b of [vpc.cidr_block, vpc.ipv6_cidr_block]) {
    if (b === null) continue;
    const p = parseCidr(b);
    if (p.ok) out.push(p.cidr);
  }
  return out;
}

/** PrismNET's records in the store. */
export class PrismNetRepo {
  constructor(private readonly deps: RepoDeps) {}

  private get store(): Store {
    return this.deps.store;
  }

  private async get<T>(key: string): Promise<Stored<T> | undefined> {
    const kv = (await this.store.range({ key: bytes(key) })).kvs[0];
    return kv === undefined ? undefined : { value: parse<T>(kv), modRevision: kv.modRevision };
  }

  /** Every record under `prefix`, in creation order (the store's create revision: exact, unlike clocks). */
  private async all<T>(prefix: string): Promise<T[]> {
    const res = await this.store.range(prefixRange(prefix));
    return res.kvs
      .slice()
      .sort((a, b) => a.createRevision - b.createRevision)
      .map((kv) => parse<T>(kv));
  }

  // VPCs

  /** Store a new VPC. */
  async createVpc(vpc: Vpc): Promise<Vpc> {
    const res = await this.store.txn({
      compare: [absent(KEYS.vpc(vpc.id))],
      success: [put(KEYS.vpc(vpc.id), vpc)],
      failure: [],
    });
    if (!res.succeeded) throw new ConflictError(`VPC ${vpc.id} already exists`);
    return vpc;
  }

  /** Every VPC, oldest first. */
  listVpcs(): Promise<Vpc[]> {
    return this.all<Vpc>(KEYS.vpcs);
  }

  /** One VPC. */
  getVpc(id: string): Promise<Stored<Vpc> | undefined> {
    return this.get<Vpc>(KEYS.vpc(id));
  }

  /** Delete a VPC; 404 when missing, 409 while it has subnets. */
  async deleteVpc(id: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.getVpc(id);
      if (cur === undefined) throw new NotFoundError('VPC', id);
      const res = await this.store.txn({
        compare: [unchanged(KEYS.vpc(id), cur.modRevision), emptyPrefix(KEYS.vpcSubnets(id))],
        success: [del(KEYS.vpc(id))],
        failure: [{ range: { ...prefixRange(KEYS.vpcSubnets(id)), countOnly: true } }],
      });
      if (res.succeeded) return;
      const subnets = countOf(res, 0);
      if (subnets > 0) {
        throw new ConflictError(`VPC ${id} still has ${subnets} subnet(s)`, {
          details: { resource: 'VPC', id, subnets },
          hint: 'Delete its subnets first',
        });
      }
    }
    throw contention(`deleting VPC ${id}`);
  }

  // Subnets

  /** Create a subnet in `vpcId` (validated against the VPC and its other subnets, atomically). */
  async createSubnet(body: CreateSubnet, checkVpc: (vpc: Vpc) => void): Promise<Subnet> {
    const id = this.deps.newId('subnet');
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const vpc = await this.getVpc(body.vpc_id);
      if (vpc === undefined) throw new NotFoundError('VPC', body.vpc_id, { details: { field: 'vpc_id' } });
      checkVpc(vpc.value);
      const index = await this.store.range(prefixRange(KEYS.vpcSubnets(body.vpc_id)));
      const siblings = index.kvs.flatMap((kv) => {
        const k = text(kv.key);
        const p = parseCidr(text(kv.value));
        return p.ok ? [{ id: k.slice(k.lastIndexOf('/') + 1), cidr: p.cidr }] : [];
      });
      const plan = planSubnet(vpcBlocks(vpc.value), siblings, body);
      const subnet: Subnet = {
        id,
        name: body.name,
        vpc_id: vpc.value.id,
        org_id: vpc.value.org_id,
        project_id: vpc.value.project_id,
        cidr_block: formatCidr(plan.cidr),
        ip_version: plan.cidr.family,
        gateway_ip: formatIp(plan.gateway),
        reserved_ips: plan.reserved.map(formatIp),
        description: body.description ?? '',
        status: 'active',
        created_at: this.deps.now(),
      };
      const res = await this.store.txn({
        compare: [
          exists(KEYS.vpc(vpc.value.id)),
          // No sibling created since our overlap check (an empty range compares as create_revision 0).
          {
            ...prefixRange(KEYS.vpcSubnets(vpc.value.id)),
            target: 'create',
            result: 'less',
            createRevision: index.header.revision + 1,
          },
        ],
        success: [put(KEYS.subnet(id), subnet), put(KEYS.vpcSubnet(vpc.value.id, id), subnet.cidr_block)],
        failure: [],
      });
      if (res.succeeded) return subnet;
    }
    throw contention('creating a subnet');
  }

  /** Every subnet, oldest first. */
  listSubnets(): Promise<Subnet[]> {
    return this.all<Subnet>(KEYS.subnets);
  }

  /** One subnet. */
  getSubnet(id: string): Promise<Stored<Subnet> | undefined> {
    return this.get<Subnet>(KEYS.subnet(id));
  }

  /** Delete a subnet; 404 when missing, 409 while it has ports. */
  async deleteSubnet(id: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.getSubnet(id);
      if (cur === undefined) throw new NotFoundError('subnet', id);
      const res = await this.store.txn({
        compare: [unchanged(KEYS.subnet(id), cur.modRevision), emptyPrefix(KEYS.ipamOf(id))],
        success: [del(KEYS.subnet(id)), del(KEYS.vpcSubnet(cur.value.vpc_id, id))],
        failure: [{ range: { ...prefixRange(KEYS.ipamOf(id)), countOnly: true } }],
      });
      if (res.succeeded) return;
      const ports = countOf(res, 0);
      if (ports > 0) {
        throw new ConflictError(`Subnet ${id} still has ${ports} port(s)`, {
          details: { resource: 'subnet', id, ports },
          hint: 'Delete its ports first',
        });
      }
    }
    throw contention(`deleting subnet ${id}`);
  }

  // Ports

  /** Every port, oldest first. */
  listPorts(): Promise<Port[]> {
    return this.all<Port>(KEYS.ports);
  }

  /** One port. */
  getPort(id: string): Promise<Stored<Port> | undefined> {
    return this.get<Port>(KEYS.port(id));
  }

  private fixedAddress(s: IpamSubnet, raw: string): IpAddress {
    const ip = parseIp(raw);
    if (ip === undefined) {
      throw new ValidationError('ip_address', 'format', 'ip_address is not a valid IP address', {
        details: { location: 'body', value: raw },
      });
    }
    const cidr = formatCidr(s.cidr);
    switch (judgeFixedIp(s, ip)) {
      case 'ok':
        return ip;
      case 'family':
      case 'outside':
        throw new ValidationError(
          'ip_address',
          'within_subnet',
          `ip_address ${raw} is not inside the subnet ${cidr}`,
          {
            details: { location: 'body', value: raw, cidr_block: cidr },
          },
        );
      case 'not_host':
        throw new ValidationError(
          'ip_address',
          'host_address',
          `ip_address ${raw} is not a host address of ${cidr}`,
          {
            details: { location: 'body', value: raw },
          },
        );
      case 'gateway':
        throw new ConflictError(`ip_address ${raw} is the subnet's gateway`, {
          details: { field: 'ip_address', ip_address: raw },
        });
      case 'reserved':
        throw new ConflictError(`ip_address ${raw} is reserved in this subnet`, {
          details: { field: 'ip_address', ip_address: raw },
        });
    }
  }

  /**
   * Create a port with an address from its subnet. The address key, port record, MAC key and group
   * index keys are written in one transaction that requires the address and MAC keys to be absent and
   * the subnet and groups to exist; on a lost race another candidate is tried.
   */
  async createPort(req: CreatePort, checkSubnet: (s: Subnet) => void): Promise<Port> {
    const id = this.deps.newId('port');
    let mac: string;
    const macGiven = req.mac_address !== undefined;
    if (req.mac_address !== undefined) {
      const m = parseMac(req.mac_address);
      if (!m.ok) {
        const why = {
          format: 'is not a MAC address (aa:bb:cc:dd:ee:ff)',
          multicast: 'is a multicast address',
          zero: 'is all zeros',
        };
        throw new ValidationError(
          'mac_address',
          m.reason === 'format' ? 'format' : 'unicast',
          `mac_address ${why[m.reason]}`,
          {
            details: { location: 'body', value: req.mac_address },
          },
        );
      }
      mac = m.mac;
    } else {
      mac = generateMac((n) => this.deps.randomBytes(n));
    }
    const groupIds = req.security_group_ids ?? [];
    const tried = new Set<bigint>();
    for (let attempt = 0; attempt < MAX_ALLOCATION_ATTEMPTS; attempt++) {
      const subnet = await this.getSubnet(req.subnet_id);
      if (subnet === undefined)
        throw new NotFoundError('subnet', req.subnet_id, { details: { field: 'subnet_id' } });
      checkSubnet(subnet.value);
      for (const gid of groupIds) {
        const sg = await this.getSecurityGroup(gid);
        if (
          sg === undefined ||
          sg.value.project_id !== subnet.value.project_id ||
          sg.value.org_id !== subnet.value.org_id
        ) {
          throw new NotFoundError('security group', gid, { details: { field: 'security_group_ids' } });
        }
      }
      const s = ipamSubnet(subnet.value);
      const taken = await this.store.range({ ...prefixRange(KEYS.ipamOf(subnet.value.id)), keysOnly: true });
      const takenValues = new Set<bigint>();
      for (const kv of taken.kvs) {
        const k = text(kv.key);
        const ip = parseIp(k.slice(k.lastIndexOf('/') + 1));
        if (ip !== undefined) takenValues.add(ip.value);
      }
      let candidate: IpAddress;
      if (req.ip_address !== undefined) {
        candidate = this.fixedAddress(s, req.ip_address);
        if (takenValues.has(candidate.value)) {
          throw new ConflictError(`ip_address ${formatIp(candidate)} is already in use`, {
            details: { field: 'ip_address', ip_address: formatIp(candidate) },
          });
        }
      } else {
        if (BigInt(takenValues.size) >= allocatableCount(s))
          throw this.exhausted(subnet.value, takenValues.size);
        const unavailable = new Set<bigint>([...takenValues, ...reservedValues(s), ...tried]);
        const range = hostRange(s.cidr);
        // First try the lowest free address; after a lost race, spread out from a random point so that
        // many concurrent creations do not all chase the same next address.
        const start =
          attempt === 0
            ? range.first
            : range.first + randomBelow(range.last - range.first + 1n, this.deps.randomBytes);
        let v = nextFree(range, unavailable, start);
        if (v === undefined) {
          // Everything not taken was tried in this call already: start over from what the store says.
          tried.clear();
          v = nextFree(range, new Set([...takenValues, ...reservedValues(s)]), start);
        }
        if (v === undefined) throw this.exhausted(subnet.value, takenValues.size);
        candidate = { family: s.cidr.family, value: v };
      }
      const ip = formatIp(candidate);
      const port: Port = {
        id,
        name: req.name ?? '',
        subnet_id: subnet.value.id,
        vpc_id: subnet.value.vpc_id,
        org_id: subnet.value.org_id,
        project_id: subnet.value.project_id,
        ip_address: ip,
        mac_address: mac,
        device_owner: req.device_owner ?? '',
        device_id: req.device_id ?? '',
        security_group_ids: [...groupIds],
        status: 'active',
        created_at: this.deps.now(),
      };
      const ipKey = KEYS.ipam(subnet.value.id, ip);
      const res = await this.store.txn({
        compare: [
          absent(ipKey),
          absent(KEYS.mac(mac)),
          absent(KEYS.port(id)),
          exists(KEYS.subnet(subnet.value.id)),
          ...groupIds.map((g) => exists(KEYS.securityGroup(g))),
        ],
        success: [
          put(KEYS.port(id), port),
          put(ipKey, id),
          put(KEYS.mac(mac), id),
          ...groupIds.map((g) => put(KEYS.sgPort(g, id), '')),
        ],
        failure: [
          { range: { key: bytes(ipKey), countOnly: true } },
          { range: { key: bytes(KEYS.mac(mac)), countOnly: true } },
        ],
      });
      if (res.succeeded) return port;
      if (countOf(res, 0) > 0) {
        if (req.ip_address !== undefined) {
          throw new ConflictError(`ip_address ${ip} is already in use`, {
            details: { field: 'ip_address', ip_address: ip },
          });
        }
        tried.add(candidate.value);
      }
      if (countOf(res, 1) > 0) {
        if (macGiven) {
          throw new ConflictError(`mac_address ${mac} is already in use`, {
            details: { field: 'mac_address', mac_address: mac },
          });
        }
        mac = generateMac((n) => this.deps.randomBytes(n));
      }
      // Otherwise the subnet or a group went away: the next round reports it.
    }
    throw contention('allocating an address');
  }

  private exhausted(subnet: Subnet, used: number): ConflictError {
    return new ConflictError(`Subnet ${subnet.id} (${subnet.cidr_block}) has no free addresses left`, {
      details: { resource: 'subnet', id: subnet.id, cidr_block: subnet.cidr_block, allocated: used },
      hint: 'Delete unused ports or create another subnet',
    });
  }

  /** Delete a port and release its address, MAC and group memberships in one transaction. */
  async deletePort(id: string): Promise<Port> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.getPort(id);
      if (cur === undefined) throw new NotFoundError('port', id);
      const p = cur.value;
      const res = await this.store.txn({
        compare: [unchanged(KEYS.port(id), cur.modRevision)],
        success: [
          del(KEYS.port(id)),
          del(KEYS.ipam(p.subnet_id, p.ip_address)),
          del(KEYS.mac(p.mac_address)),
          ...p.security_group_ids.map((g) => del(KEYS.sgPort(g, id))),
        ],
        failure: [],
      });
      if (res.succeeded) return p;
    }
    throw contention(`deleting port ${id}`);
  }

  // Security groups

  /** Store a new group. */
  async createSecurityGroup(sg: SecurityGroup): Promise<SecurityGroup> {
    const key = KEYS.securityGroup(sg.id);
    const res = await this.store.txn({ compare: [absent(key)], success: [put(key, sg)], failure: [] });
    if (!res.succeeded) throw new ConflictError(`Security group ${sg.id} already exists`);
    return sg;
  }

  /** Every group, oldest first. */
  listSecurityGroups(): Promise<SecurityGroup[]> {
    return this.all<SecurityGroup>(KEYS.securityGroups);
  }

  /** One group. */
  getSecurityGroup(id: string): Promise<Stored<SecurityGroup> | undefined> {
    return this.get<SecurityGroup>(KEYS.securityGroup(id));
  }

  /**
   * Change a group with compare-and-swap on its revision. `mutate` gets the current group and returns
   * the new one (or throws); `check` runs on every read (tenancy, If-Match).
   */
  async updateSecurityGroup(
    id: string,
    mutate: (sg: SecurityGroup, modRevision: number) => SecurityGroup | Promise<SecurityGroup>,
  ): Promise<Stored<SecurityGroup>> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.getSecurityGroup(id);
      if (cur === undefined) throw new NotFoundError('security group', id);
      const next = await mutate(cur.value, cur.modRevision);
      const res = await this.store.txn({
        compare: [unchanged(KEYS.securityGroup(id), cur.modRevision)],
        success: [put(KEYS.securityGroup(id), next)],
        failure: [],
      });
      if (res.succeeded) return { value: next, modRevision: res.header.revision };
    }
    throw contention(`updating security group ${id}`);
  }

  /** Delete a group; 404 when missing, 409 while a port uses it or another group's rule names it. */
  async deleteSecurityGroup(
    id: string,
    check?: (sg: SecurityGroup, modRevision: number) => void,
  ): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.getSecurityGroup(id);
      if (cur === undefined) throw new NotFoundError('security group', id);
      check?.(cur.value, cur.modRevision);
      const referrers = (await this.listSecurityGroups()).filter(
        (g) => g.id !== id && g.rules.some((r) => r.remote_group_id === id),
      );
      if (referrers.length > 0) {
        throw new ConflictError(
          `Security group ${id} is the remote group of rules in ${referrers.map((g) => g.id).join(', ')}`,
          {
            details: { resource: 'security group', id, referenced_by: referrers.map((g) => g.id) },
            hint: 'Delete those rules first',
          },
        );
      }
      const res = await this.store.txn({
        compare: [unchanged(KEYS.securityGroup(id), cur.modRevision), emptyPrefix(KEYS.sgPorts(id))],
        success: [del(KEYS.securityGroup(id))],
        failure: [{ range: { ...prefixRange(KEYS.sgPorts(id)), countOnly: true } }],
      });
      if (res.succeeded) return;
      const ports = countOf(res, 0);
      if (ports > 0) {
        throw new ConflictError(`Security group ${id} is in use by ${ports} port(s)`, {
          details: { resource: 'security group', id, ports },
          hint: 'Delete the ports (or remove the group from them) first',
        });
      }
    }
    throw contention(`deleting security group ${id}`);
  }
}
