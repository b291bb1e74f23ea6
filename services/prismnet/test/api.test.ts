/**
 * The rest of PrismNET's API over real HTTP: idempotent creates, pagination, tenancy with scoped
 * tokens, the typed client end to end (IPv6 VPC block, ports with groups, rules), and the OpenAPI
 * document. Tokens are checked by a test verifier (a fixed table), standing in for IAM's JWKS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UnauthorizedError } from '@photoncloud/errors';
import type { Principal } from '@photoncloud/http-kit';
import { ApiClientError } from '@photoncloud/http-kit/client';
import { PrismNetClient } from '@photoncloud/prismnet-api';
import { call, startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const PRINCIPALS: Record<string, Principal> = {
  'tok-a': {
    id: 'user-a',
    kind: 'token',
    orgId: 'org-1',
    projectId: 'proj-a',
    roles: ['member'],
    isAdmin: false,
  },
  'tok-b': {
    id: 'user-b',
    kind: 'token',
    orgId: 'org-1',
    projectId: 'proj-b',
    roles: ['member'],
    isAdmin: false,
  },
  'tok-admin': { id: 'admin', kind: 'token', roles: ['admin'], isAdmin: true },
};

let h: Harness;

describe('PrismNET API', () => {
  before(async () => {
    h = await startHarness({
      mode: 'required',
      verifyToken: async (t) => {
        const p = PRINCIPALS[t];
        if (p === undefined) throw new UnauthorizedError('bad token');
        return p;
      },
    });
  });
  after(async () => {
    await h?.close();
  });

  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  test('Idempotency-Key on create VPC: replay returns the first VPC; another body is 422', async () => {
    const body = { name: 'idem', org_id: 'org-1', project_id: 'proj-a', cidr_block: '10.9.0.0/16' };
    const headers = { ...as('tok-admin'), 'idempotency-key': 'create-idem-1' };
    const first = await call(h.url, 'POST', '/api/v1/vpcs', body, headers);
    assert.equal(first.status, 201);
    const again = await call(h.url, 'POST', '/api/v1/vpcs', body, headers);
    assert.equal(again.status, 201);
    assert.equal(again.body.data.id, first.body.data.id);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const other = await call(h.url, 'POST', '/api/v1/vpcs', { ...body, name: 'different' }, headers);
    assert.equal(other.status, 422);
    assert.equal(other.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
    const list = await call(h.url, 'GET', '/api/v1/vpcs?project_id=proj-a', undefined, as('tok-admin'));
    assert.equal(list.body.data.vpcs.filter((v: { name: string }) => v.name === 'idem').length, 1);
  });

  test('tenancy: a project token sees only its project; another project is 403 by filter, 404 by id', async () => {
    const a = await call(
      h.url,
      'POST',
      '/api/v1/vpcs',
      { name: 'a-net', cidr_block: '10.1.0.0/16' },
      as('tok-a'),
    );
    assert.equal(a.status, 201);
    assert.equal(a.body.data.org_id, 'org-1', 'filled in from the token');
    assert.equal(a.body.data.project_id, 'proj-a');
    const b = await call(
      h.url,
      'POST',
      '/api/v1/vpcs',
      { name: 'b-net', cidr_block: '10.1.0.0/16' },
      as('tok-b'),
    );
    assert.equal(b.status, 201);

    const listA = await call(h.url, 'GET', '/api/v1/vpcs', undefined, as('tok-a'));
    assert.ok(listA.body.data.vpcs.every((v: { project_id: string }) => v.project_id === 'proj-a'));
    assert.ok(listA.body.data.vpcs.some((v: { id: string }) => v.id === a.body.data.id));
    const forbidden = await call(h.url, 'GET', '/api/v1/vpcs?project_id=proj-b', undefined, as('tok-a'));
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error.code, 'FORBIDDEN');
    const crossCreate = await call(
      h.url,
      'POST',
      '/api/v1/vpcs',
      { name: 'x', project_id: 'proj-b', cidr_block: '10.2.0.0/16' },
      as('tok-a'),
    );
    assert.equal(crossCreate.status, 403);

    const bId = b.body.data.id as string;
    assert.equal((await call(h.url, 'GET', `/api/v1/vpcs/${bId}`, undefined, as('tok-a'))).status, 404);
    assert.equal((await call(h.url, 'DELETE', `/api/v1/vpcs/${bId}`, undefined, as('tok-a'))).status, 404);
    const subnetInB = await call(
      h.url,
      'POST',
      '/api/v1/subnets',
      { name: 's', vpc_id: bId, cidr_block: '10.1.1.0/24' },
      as('tok-a'),
    );
    assert.equal(subnetInB.status, 404);
    // B's own token works, and the subnet inherits B's tenancy.
    const sub = await call(
      h.url,
      'POST',
      '/api/v1/subnets',
      { name: 's', vpc_id: bId, cidr_block: '10.1.1.0/24' },
      as('tok-b'),
    );
    assert.equal(sub.status, 201);
    assert.equal(sub.body.data.project_id, 'proj-b');
    assert.equal(
      (await call(h.url, 'POST', '/api/v1/ports', { subnet_id: sub.body.data.id }, as('tok-a'))).status,
      404,
    );
    assert.equal(
      (await call(h.url, 'GET', `/api/v1/subnets/${sub.body.data.id as string}`, undefined, as('tok-a')))
        .status,
      404,
    );
    assert.equal((await call(h.url, 'GET', '/api/v1/vpcs')).status, 401, 'no token, auth required');
  });

  test('pagination: limit/offset, meta.total, X-Total-Count and Link', async () => {
    const admin = new PrismNetClient({ baseUrl: h.url, token: 'tok-admin' });
    for (let i = 0; i < 5; i++) {
      await admin.createVpc({
        name: `page-${i}`,
        org_id: 'org-p',
        project_id: 'proj-p',
        cidr_block: `10.${i}.0.0/16`,
      });
    }
    const r = await call(
      h.url,
      'GET',
      '/api/v1/vpcs?org_id=org-p&project_id=proj-p&limit=2&offset=2',
      undefined,
      as('tok-admin'),
    );
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.data.vpcs.map((v: { name: string }) => v.name),
      ['page-2', 'page-3'],
    );
    assert.deepEqual([r.body.meta.total, r.body.meta.limit, r.body.meta.offset], [5, 2, 2]);
    assert.equal(r.headers.get('x-total-count'), '5');
    assert.match(r.headers.get('link') ?? '', /offset=4>; rel="next"/);
    const all: string[] = [];
    for await (const v of admin.allVpcs({ org_id: 'org-p' }, { pageSize: 2 })) all.push(v.name);
    assert.deepEqual(all, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
  });

  test('typed client end to end: IPv6 VPC block, subnets of both families, ports with a group', async () => {
    const c = new PrismNetClient({ baseUrl: h.url, token: 'tok-a' });
    const vpc = await c.createVpc({
      name: 'dual',
      cidr_block: '10.30.0.0/16',
      ipv6_cidr_block: 'FD00:30::/56',
      description: 'dual stack',
    });
    assert.equal(vpc.ipv6_cidr_block, 'fd00:30::/56');
    const v4 = await c.createSubnet({ name: 'v4', vpc_id: vpc.id, cidr_block: '10.30.1.0/24' });
    const v6 = await c.createSubnet({
      name: 'v6',
      vpc_id: vpc.id,
      cidr_block: 'fd00:30:0:1::/64',
      gateway_ip: 'fd00:30:0:1::fffe',
    });
    assert.equal(v6.gateway_ip, 'fd00:30:0:1::fffe');
    assert.equal(v6.ip_version, 6);
    await assert.rejects(
      c.createSubnet({ name: 'x', vpc_id: vpc.id, cidr_block: 'fd00:31::/64' }),
      (err: unknown) => {
        assert.ok(err instanceof ApiClientError);
        assert.equal(err.status, 400);
        assert.equal(err.details?.['constraint'], 'within_vpc');
        return true;
      },
    );
    const sg = await c.createSecurityGroup({ name: 'ssh' });
    assert.equal(sg.project_id, 'proj-a');
    const rule = await c.addRule(sg.id, {
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 22,
      remote_cidr: '10.30.0.0/16',
    });
    assert.deepEqual((await c.listRules(sg.id)).map((r) => r.id).includes(rule.id), true);
    const port4 = await c.createPort({
      subnet_id: v4.id,
      device_owner: 'compute:vm',
      device_id: 'vm-1',
      security_group_ids: [sg.id],
    });
    const port6 = await c.createPort({ subnet_id: v6.id, device_owner: 'compute:vm', device_id: 'vm-1' });
    assert.equal(port4.ip_address, '10.30.1.2');
    assert.equal(
      port6.ip_address,
      'fd00:30:0:1::1',
      'with the gateway elsewhere, the first host address is free',
    );
    assert.equal(port4.vpc_id, vpc.id);
    const byDevice = await c.listPorts({ device_id: 'vm-1' });
    assert.deepEqual(byDevice.items.map((p) => p.id).sort(), [port4.id, port6.id].sort());
    assert.equal((await c.getPort(port4.id)).mac_address, port4.mac_address);
    await c.deletePort(port4.id);
    await c.deletePort(port6.id);
    await c.deleteSecurityGroup(sg.id);
    await c.deleteSubnet(v4.id);
    await c.deleteSubnet(v6.id);
    await c.deleteVpc(vpc.id);
    await assert.rejects(
      c.getVpc(vpc.id),
      (err: unknown) => err instanceof ApiClientError && err.status === 404,
    );
  });

  test('OpenAPI lists every route', async () => {
    const res = await fetch(`${h.url}/api/v1/openapi.json`, { headers: as('tok-admin') });
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    for (const path of [
      '/api/v1/vpcs',
      '/api/v1/vpcs/{id}',
      '/api/v1/subnets',
      '/api/v1/subnets/{id}',
      '/api/v1/ports',
      '/api/v1/ports/{id}',
      '/api/v1/security-groups',
      '/api/v1/security-groups/{id}',
      '/api/v1/security-groups/{id}/rules',
      '/api/v1/security-groups/{id}/rules/{rule_id}',
    ]) {
      assert.ok(doc.paths[path], path);
    }
    assert.ok(doc.paths['/api/v1/ports']?.['post']);
  });
});
