/**
 * VPC, subnet and port routes (guide §7). Every route takes `org_id`/`project_id` (query or body),
 * resolved against the caller's token with `resolveScope`; a resource outside the caller's scope is
 * answered as 404, the same as one that does not exist, so IDs of other tenants do not leak.
 */
import { Type } from '@sinclair/typebox';
import { NotFoundError } from '@photoncloud/errors';
import {
  envelope,
  inScope,
  listEnvelope,
  listResponse,
  ok,
  pageQueryProperties,
  parsePage,
  responses,
  setAuditResource,
} from '@photoncloud/http-kit';
import type { ServiceApp } from '@photoncloud/http-kit';
import {
  CreatePort,
  CreateSubnet,
  CreateVpc,
  Deleted,
  IdParams,
  Port,
  Subnet,
  Vpc,
  scopeQueryProperties,
} from '@photoncloud/prismnet-api';
import { formatCidr } from '../core/cidr.js';
import { parseCidrField, VPC_PREFIX } from '../core/subnet-rules.js';
import type { PrismNetRepo } from '../storage/prismnet-repo.js';
import { ownerOf, scopeOf } from './scope.js';

/** What the routes need. */
export interface RouteDeps {
  repo: PrismNetRepo;
  newId(prefix: string): string;
  now(): string;
}

const ScopeQuery = Type.Object(scopeQueryProperties);
const Filter = Type.Optional(Type.String({ minLength: 1, maxLength: 128 }));

function page<T>(items: T[], p: { limit: number; offset: number }): T[] {
  return items.slice(p.offset, p.offset + p.limit);
}

/** Register the VPC, subnet and port routes. */
export function registerNetworkRoutes(app: ServiceApp, deps: RouteDeps): void {
  const { repo } = deps;

  // VPCs

  app.post(
    '/api/v1/vpcs',
    {
      schema: {
        tags: ['vpcs'],
        summary: 'Create a VPC',
        description:
          'cidr_block: IPv4 /8–/28 or IPv6 /32–/120, written as a network (no host bits). Optional ipv6_cidr_block adds an IPv6 block. org_id/project_id default to the token’s scope.',
        body: CreateVpc,
        response: responses({ 201: envelope(Vpc) }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const owner = ownerOf(request, body);
      const cidr = parseCidrField('cidr_block', body.cidr_block, VPC_PREFIX);
      const v6 =
        body.ipv6_cidr_block === undefined
          ? null
          : parseCidrField('ipv6_cidr_block', body.ipv6_cidr_block, VPC_PREFIX, [6]);
      const vpc: Vpc = {
        id: deps.newId('vpc'),
        name: body.name,
        ...owner,
        cidr_block: formatCidr(cidr),
        ipv6_cidr_block: v6 === null ? null : formatCidr(v6),
        description: body.description ?? '',
        status: 'active',
        created_at: deps.now(),
      };
      await repo.createVpc(vpc);
      setAuditResource(request, vpc.id);
      reply.code(201);
      return ok(request, vpc);
    },
  );

  app.get(
    '/api/v1/vpcs',
    {
      schema: {
        tags: ['vpcs'],
        summary: 'List VPCs',
        querystring: Type.Object({ ...scopeQueryProperties, ...pageQueryProperties() }),
        response: responses({ 200: listEnvelope('vpcs', Vpc) }),
      },
    },
    async (request, reply) => {
      const p = parsePage(request.query);
      const scope = scopeOf(request, request.query);
      const items = (await repo.listVpcs()).filter((v) => inScope(scope, v));
      return listResponse(request, reply, {
        key: 'vpcs',
        items: page(items, p),
        total: items.length,
        page: p,
      });
    },
  );

  app.get(
    '/api/v1/vpcs/:id',
    {
      schema: {
        tags: ['vpcs'],
        summary: 'Get a VPC',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Vpc) }),
      },
    },
    async (request) => {
      const scope = scopeOf(request, request.query);
      const vpc = await repo.getVpc(request.params.id);
      if (vpc === undefined || !inScope(scope, vpc.value)) throw new NotFoundError('VPC', request.params.id);
      return ok(request, vpc.value);
    },
  );

  app.delete(
    '/api/v1/vpcs/:id',
    {
      schema: {
        tags: ['vpcs'],
        summary: 'Delete a VPC',
        description: '409 CONFLICT while the VPC has subnets.',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const scope = scopeOf(request, request.query);
      const vpc = await repo.getVpc(request.params.id);
      if (vpc === undefined || !inScope(scope, vpc.value)) throw new NotFoundError('VPC', request.params.id);
      await repo.deleteVpc(request.params.id);
      return ok(request, { id: request.params.id, deleted: true as const });
    },
  );

  // Subnets

  app.post(
    '/api/v1/subnets',
    {
      schema: {
        tags: ['subnets'],
        summary: 'Create a subnet',
        description:
          'Inside its VPC (400 otherwise), overlapping no other subnet of the VPC (409 CONFLICT), IPv4 /16–/28 or IPv6 /64–/120. gateway_ip defaults to the first usable address; it may not be the network or broadcast address. The subnet belongs to its VPC’s org and project.',
        body: CreateSubnet,
        response: responses({ 201: envelope(Subnet) }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const scope = scopeOf(request, body);
      const subnet = await repo.createSubnet(body, (vpc) => {
        if (!inScope(scope, vpc))
          throw new NotFoundError('VPC', body.vpc_id, { details: { field: 'vpc_id' } });
      });
      setAuditResource(request, subnet.id);
      reply.code(201);
      return ok(request, subnet);
    },
  );

  app.get(
    '/api/v1/subnets',
    {
      schema: {
        tags: ['subnets'],
        summary: 'List subnets',
        querystring: Type.Object({ ...scopeQueryProperties, vpc_id: Filter, ...pageQueryProperties() }),
        response: responses({ 200: listEnvelope('subnets', Subnet) }),
      },
    },
    async (request, reply) => {
      const p = parsePage(request.query);
      const scope = scopeOf(request, request.query);
      const { vpc_id } = request.query;
      const items = (await repo.listSubnets()).filter(
        (s) => inScope(scope, s) && (vpc_id === undefined || s.vpc_id === vpc_id),
      );
      return listResponse(request, reply, {
        key: 'subnets',
        items: page(items, p),
        total: items.length,
        page: p,
      });
    },
  );

  app.get(
    '/api/v1/subnets/:id',
    {
      schema: {
        tags: ['subnets'],
        summary: 'Get a subnet',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Subnet) }),
      },
    },
    async (request) => {
      const scope = scopeOf(request, request.query);
      const s = await repo.getSubnet(request.params.id);
      if (s === undefined || !inScope(scope, s.value)) throw new NotFoundError('subnet', request.params.id);
      return ok(request, s.value);
    },
  );

  app.delete(
    '/api/v1/subnets/:id',
    {
      schema: {
        tags: ['subnets'],
        summary: 'Delete a subnet',
        description:
          '409 CONFLICT while ports hold addresses in it. With vpc_id, 404 unless the subnet is in that VPC.',
        params: IdParams,
        querystring: Type.Object({ ...scopeQueryProperties, vpc_id: Filter }),
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const scope = scopeOf(request, request.query);
      const s = await repo.getSubnet(request.params.id);
      const vpcId = request.query.vpc_id;
      if (s === undefined || !inScope(scope, s.value) || (vpcId !== undefined && s.value.vpc_id !== vpcId)) {
        throw new NotFoundError('subnet', request.params.id);
      }
      await repo.deleteSubnet(request.params.id);
      return ok(request, { id: request.params.id, deleted: true as const });
    },
  );

  // Ports

  app.post(
    '/api/v1/ports',
    {
      schema: {
        tags: ['ports'],
        summary: 'Create a port',
        description:
          'Allocates ip_address (the lowest free one unless given) and mac_address (generated unless given) atomically. 409 when the subnet has no free address, or the fixed address / MAC is in use, the gateway, or reserved; 400 when the fixed address is outside the subnet.',
        body: CreatePort,
        response: responses({ 201: envelope(Port) }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const scope = scopeOf(request, body);
      const port = await repo.createPort(body, (s) => {
        if (!inScope(scope, s))
          throw new NotFoundError('subnet', body.subnet_id, { details: { field: 'subnet_id' } });
      });
      setAuditResource(request, port.id);
      reply.code(201);
      return ok(request, port);
    },
  );

  app.get(
    '/api/v1/ports',
    {
      schema: {
        tags: ['ports'],
        summary: 'List ports',
        querystring: Type.Object({
          ...scopeQueryProperties,
          subnet_id: Filter,
          vpc_id: Filter,
          device_id: Filter,
          ...pageQueryProperties(),
        }),
        response: responses({ 200: listEnvelope('ports', Port) }),
      },
    },
    async (request, reply) => {
      const p = parsePage(request.query);
      const scope = scopeOf(request, request.query);
      const { subnet_id, vpc_id, device_id } = request.query;
      const items = (await repo.listPorts()).filter(
        (x) =>
          inScope(scope, x) &&
          (subnet_id === undefined || x.subnet_id === subnet_id) &&
          (vpc_id === undefined || x.vpc_id === vpc_id) &&
          (device_id === undefined || x.device_id === device_id),
      );
      return listResponse(request, reply, {
        key: 'ports',
        items: page(items, p),
        total: items.length,
        page: p,
      });
    },
  );

  app.get(
    '/api/v1/ports/:id',
    {
      schema: {
        tags: ['ports'],
        summary: 'Get a port',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Port) }),
      },
    },
    async (request) => {
      const scope = scopeOf(request, request.query);
      const port = await repo.getPort(request.params.id);
      if (port === undefined || !inScope(scope, port.value))
        throw new NotFoundError('port', request.params.id);
      return ok(request, port.value);
    },
  );

  app.delete(
    '/api/v1/ports/:id',
    {
      schema: {
        tags: ['ports'],
        summary: 'Delete a port',
        description: 'Releases its address and MAC atomically.',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const scope = scopeOf(request, request.query);
      const port = await repo.getPort(request.params.id);
      if (port === undefined || !inScope(scope, port.value))
        throw new NotFoundError('port', request.params.id);
      await repo.deletePort(request.params.id);
      return ok(request, { id: request.params.id, deleted: true as const });
    },
  );
}
