/** A typed client for PrismNET's REST API, on the shared client kit. */
import { ApiClient } from '@photoncloud/http-kit/client';
import type { ApiClientOptions, PaginateOptions, QueryValue } from '@photoncloud/http-kit/client';
import type {
  CreatePort,
  CreateSecurityGroup,
  CreateSecurityGroupRule,
  CreateSubnet,
  CreateVpc,
  Deleted,
  Port,
  SecurityGroup,
  SecurityGroupRule,
  Subnet,
  UpdateSecurityGroup,
  Vpc,
} from './schemas.js';

/** Tenancy filter of a request (`?org_id=&project_id=`). */
export interface ScopeFilter {
  org_id?: string;
  project_id?: string;
}

/** Page selection of a list call. */
export interface PageFilter {
  limit?: number;
  offset?: number;
}

/** One page of a list. */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/** Options of create calls. */
export interface CreateOptions {
  /** Sent as Idempotency-Key: a retry with the same key returns the first result. */
  idempotencyKey?: string;
}

function q(obj: object | undefined): Record<string, QueryValue> {
  const out: Record<string, QueryValue> = {};
  for (const [k, v] of Object.entries(obj ?? {})) if (v !== undefined) out[k] = v as QueryValue;
  return out;
}

const enc = encodeURIComponent;

/** PrismNET REST client: VPCs, subnets, ports and security groups. */
export class PrismNetClient {
  readonly api: ApiClient;

  constructor(opts: ApiClientOptions | ApiClient) {
    this.api = opts instanceof ApiClient ? opts : new ApiClient(opts);
  }

  private async page<T>(path: string, key: string, query: object | undefined): Promise<Page<T>> {
    const res = await this.api.request<Record<string, T[]>>('GET', path, undefined, { query: q(query) });
    const items = res.data[key] ?? [];
    return {
      items,
      total: res.meta.total ?? items.length,
      limit: res.meta.limit ?? items.length,
      offset: res.meta.offset ?? 0,
    };
  }

  private create<T>(path: string, body: unknown, opts: CreateOptions): Promise<T> {
    return this.api.post<T>(
      path,
      body,
      opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey },
    );
  }

  // VPCs

  /** Create a VPC. */
  createVpc(body: CreateVpc, opts: CreateOptions = {}): Promise<Vpc> {
    return this.create<Vpc>('/api/v1/vpcs', body, opts);
  }
  /** One page of VPCs. */
  listVpcs(filter: ScopeFilter & PageFilter = {}): Promise<Page<Vpc>> {
    return this.page<Vpc>('/api/v1/vpcs', 'vpcs', filter);
  }
  /** Every VPC matching `filter`, page by page. */
  allVpcs(
    filter: ScopeFilter = {},
    opts: Omit<PaginateOptions, 'query'> = {},
  ): AsyncGenerator<Vpc, void, undefined> {
    return this.api.paginate<Vpc>('/api/v1/vpcs', 'vpcs', { ...opts, query: q(filter) });
  }
  /** A VPC; throws ApiClientError 404 when it does not exist. */
  getVpc(id: string, scope: ScopeFilter = {}): Promise<Vpc> {
    return this.api.get<Vpc>(`/api/v1/vpcs/${enc(id)}`, { query: q(scope) });
  }
  /** Delete a VPC (409 while it has subnets). */
  deleteVpc(id: string, scope: ScopeFilter = {}): Promise<Deleted> {
    return this.api.delete<Deleted>(`/api/v1/vpcs/${enc(id)}`, { query: q(scope) });
  }

  // Subnets

  /** Create a subnet in a VPC. */
  createSubnet(body: CreateSubnet, opts: CreateOptions = {}): Promise<Subnet> {
    return this.create<Subnet>('/api/v1/subnets', body, opts);
  }
  /** One page of subnets. */
  listSubnets(filter: ScopeFilter & PageFilter & { vpc_id?: string } = {}): Promise<Page<Subnet>> {
    return this.page<Subnet>('/api/v1/subnets', 'subnets', filter);
  }
  /** A subnet. */
  getSubnet(id: string, scope: ScopeFilter = {}): Promise<Subnet> {
    return this.api.get<Subnet>(`/api/v1/subnets/${enc(id)}`, { query: q(scope) });
  }
  /** Delete a subnet (409 while it has ports). */
  deleteSubnet(id: string, scope: ScopeFilter & { vpc_id?: string } = {}): Promise<Deleted> {
    return this.api.delete<Deleted>(`/api/v1/subnets/${enc(id)}`, { query: q(scope) });
  }

  // Ports

  /** Create a port: allocates an address (the next free one, or `ip_address`) and a MAC. */
  createPort(body: CreatePort, opts: CreateOptions = {}): Promise<Port> {
    return this.create<Port>('/api/v1/ports', body, opts);
  }
  /** One page of ports. */
  listPorts(
    filter: ScopeFilter & PageFilter & { subnet_id?: string; vpc_id?: string; device_id?: string } = {},
  ): Promise<Page<Port>> {
    return this.page<Port>('/api/v1/ports', 'ports', filter);
  }
  /** A port. */
  getPort(id: string, scope: ScopeFilter = {}): Promise<Port> {
    return this.api.get<Port>(`/api/v1/ports/${enc(id)}`, { query: q(scope) });
  }
  /** Delete a port, releasing its address and MAC. */
  deletePort(id: string, scope: ScopeFilter = {}): Promise<Deleted> {
    return this.api.delete<Deleted>(`/api/v1/ports/${enc(id)}`, { query: q(scope) });
  }

  // Security groups

  /** Create a security group (with the default allow-all egress rules). */
  createSecurityGroup(body: CreateSecurityGroup, opts: CreateOptions = {}): Promise<SecurityGroup> {
    return this.create<SecurityGroup>('/api/v1/security-groups', body, opts);
  }
  /** One page of security groups. */
  listSecurityGroups(filter: ScopeFilter & PageFilter = {}): Promise<Page<SecurityGroup>> {
    return this.page<SecurityGroup>('/api/v1/security-groups', 'security_groups', filter);
  }
  /** A security group with its rules. */
  getSecurityGroup(id: string, scope: ScopeFilter = {}): Promise<SecurityGroup> {
    return this.api.get<SecurityGroup>(`/api/v1/security-groups/${enc(id)}`, { query: q(scope) });
  }
  /** Rename or re-describe a security group; `ifMatch` makes it conditional on its ETag. */
  updateSecurityGroup(
    id: string,
    body: UpdateSecurityGroup,
    opts: ScopeFilter & { ifMatch?: string | number } = {},
  ): Promise<SecurityGroup> {
    const { ifMatch, ...scope } = opts;
    return this.api.patch<SecurityGroup>(`/api/v1/security-groups/${enc(id)}`, body, {
      query: q(scope),
      ...(ifMatch === undefined ? {} : { ifMatch }),
    });
  }
  /** Delete a security group (409 while a port uses it). */
  deleteSecurityGroup(id: string, scope: ScopeFilter = {}): Promise<Deleted> {
    return this.api.delete<Deleted>(`/api/v1/security-groups/${enc(id)}`, { query: q(scope) });
  }
  /** Add a rule to a group. */
  addRule(
    groupId: string,
    body: CreateSecurityGroupRule,
    opts: CreateOptions = {},
  ): Promise<SecurityGroupRule> {
    return this.create<SecurityGroupRule>(`/api/v1/security-groups/${enc(groupId)}/rules`, body, opts);
  }
  /** The rules of a group. */
  async listRules(groupId: string, scope: ScopeFilter = {}): Promise<SecurityGroupRule[]> {
    const data = await this.api.get<{ rules: SecurityGroupRule[] }>(
      `/api/v1/security-groups/${enc(groupId)}/rules`,
      { query: q(scope) },
    );
    return data.rules;
  }
  /** Remove a rule from a group. */
  deleteRule(groupId: string, ruleId: string, scope: ScopeFilter = {}): Promise<Deleted> {
    return this.api.delete<Deleted>(`/api/v1/security-groups/${enc(groupId)}/rules/${enc(ruleId)}`, {
      query: q(scope),
    });
  }
}
