/**
 * Error paths over real HTTP: every bad request gets a clear 400/404/409 in the envelope, never a 500
 * (`call` fails the test on any 5xx). Decision (documented in the README): a subnet overlapping a sibling
 * is 409 CONFLICT (the address space is taken), while a subnet outside its VPC is 400 VALIDATION_ERROR.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startHarness } from './helpers.js';
import type { Harness, JsonResponse } from './helpers.js';

let h: Harness;
let vpcId: string;
let subnetId: string;

function expectError(r: JsonResponse, status: number, code: string, field?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.success, false);
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
  if (field !== undefined) assert.equal(r.body.error.details.field, field, JSON.stringify(r.body.error));
}

const post = (path: string, body: unknown) => call(h.url, 'POST', path, body);

describe('PrismNET error paths', () => {
  before(async () => {
    h = await startHarness();
    vpcId = (
      await h.client.createVpc({
        name: 'errs',
        org_id: 'org-1',
        project_id: 'proj-1',
        cidr_block: '10.0.0.0/16',
      })
    ).id;
    subnetId = (await h.client.createSubnet({ name: 'a', vpc_id: vpcId, cidr_block: '10.0.1.0/24' })).id;
  });
  after(async () => {
    await h?.close();
  });

  test('VPC: bad and missing fields are 400 VALIDATION_ERROR naming the field', async () => {
    const base = { name: 'v', org_id: 'org-1', project_id: 'proj-1' };
    expectError(
      await post('/api/v1/vpcs', { ...base, cidr_block: 'not-a-cidr' }),
      400,
      'VALIDATION_ERROR',
      'cidr_block',
    );
    expectError(
      await post('/api/v1/vpcs', { ...base, cidr_block: '10.0.0.0/33' }),
      400,
      'VALIDATION_ERROR',
      'cidr_block',
    );
    expectError(
      await post('/api/v1/vpcs', { ...base, cidr_block: '10.0.0.0/7' }),
      400,
      'VALIDATION_ERROR',
      'cidr_block',
    );
    const hostBits = await post('/api/v1/vpcs', { ...base, cidr_block: '10.0.5.0/16' });
    expectError(hostBits, 400, 'VALIDATION_ERROR', 'cidr_block');
    assert.equal(hostBits.body.error.details.normalized, '10.0.0.0/16');
    expectError(
      await post('/api/v1/vpcs', { ...base, cidr_block: '10.0.0.0/16', ipv6_cidr_block: '10.1.0.0/16' }),
      400,
      'VALIDATION_ERROR',
      'ipv6_cidr_block',
    );
    expectError(
      await post('/api/v1/vpcs', { ...base, cidr_block: 42 }),
      400,
      'VALIDATION_ERROR',
      'cidr_block',
    );
    expectError(
      await post('/api/v1/vpcs', { ...base, cidr_block: '10.0.0.0/16', colour: 'red' }),
      400,
      'VALIDATION_ERROR',
      'colour',
    );
    expectError(
      await post('/api/v1/vpcs', { name: 'v', cidr_block: '10.0.0.0/16' }),
      400,
      'VALIDATION_ERROR',
      'org_id',
    );
    expectError(await post('/api/v1/vpcs', '{"name": "broken"'), 400, 'BAD_REQUEST');
  });

  test('subnet: bad CIDR 400, /29 400, /15 400, outside the VPC 400, overlap 409', async () => {
    const s = (cidr: string, extra: Record<string, unknown> = {}) =>
      post('/api/v1/subnets', { name: 's', vpc_id: vpcId, cidr_block: cidr, ...extra });
    expectError(await s('10.0.2.0/2x'), 400, 'VALIDATION_ERROR', 'cidr_block');
    expectError(await s('10.0.2.0/29'), 400, 'VALIDATION_ERROR', 'cidr_block');
    const small = await s('10.0.2.0/29');
    assert.equal(small.body.error.details.constraint, 'prefix_length');
    expectError(await s('10.0.0.0/15'), 400, 'VALIDATION_ERROR', 'cidr_block');
    const outside = await s('10.1.0.0/24');
    expectError(outside, 400, 'VALIDATION_ERROR', 'cidr_block');
    assert.equal(outside.body.error.details.constraint, 'within_vpc');
    expectError(await s('fd00::/64'), 400, 'VALIDATION_ERROR', 'cidr_block');
    const overlap = await s('10.0.1.128/25');
    expectError(overlap, 409, 'CONFLICT', 'cidr_block');
    assert.equal(overlap.body.error.details.conflicting_subnet_id, subnetId);
    expectError(await s('10.0.0.0/16'), 409, 'CONFLICT', 'cidr_block');
    expectError(await s('10.0.2.0/24', { gateway_ip: '10.0.2.0' }), 400, 'VALIDATION_ERROR', 'gateway_ip');
    expectError(await s('10.0.2.0/24', { gateway_ip: '10.0.2.255' }), 400, 'VALIDATION_ERROR', 'gateway_ip');
    expectError(await s('10.0.2.0/24', { gateway_ip: '10.0.3.1' }), 400, 'VALIDATION_ERROR', 'gateway_ip');
    expectError(
      await s('10.0.2.0/24', { reserved_ips: ['10.9.9.9'] }),
      400,
      'VALIDATION_ERROR',
      'reserved_ips.0',
    );
    expectError(
      await post('/api/v1/subnets', { name: 's', vpc_id: 'vpc-missing', cidr_block: '10.0.2.0/24' }),
      404,
      'NOT_FOUND',
      'vpc_id',
    );
  });

  test('concurrent overlapping subnets: exactly one is created', async () => {
    const results = await Promise.all(
      ['10.0.64.0/20', '10.0.64.0/24', '10.0.65.0/24', '10.0.70.0/23', '10.0.79.0/24'].map((cidr) =>
        post('/api/v1/subnets', { name: 'race', vpc_id: vpcId, cidr_block: cidr }),
      ),
    );
    const created = results.filter((r) => r.status === 201);
    const conflicts = results.filter((r) => r.status === 409);
    // The /20 overlaps all the others; the /24s and /23 are disjoint among themselves.
    assert.equal(created.length + conflicts.length, 5);
    const cidrs = created.map((r) => r.body.data.cidr_block as string);
    if (cidrs.includes('10.0.64.0/20')) assert.equal(created.length, 1);
    else assert.equal(created.length, 4);
    for (const r of created) await h.client.deleteSubnet(r.body.data.id as string);
  });

  test('deleting a VPC with subnets is 409; a subnet with ports is 409', async () => {
    const vpc = await call(h.url, 'DELETE', `/api/v1/vpcs/${vpcId}`);
    expectError(vpc, 409, 'CONFLICT');
    assert.equal(vpc.body.error.details.subnets, 1);
    const port = await h.client.createPort({ subnet_id: subnetId });
    const sub = await call(h.url, 'DELETE', `/api/v1/subnets/${subnetId}`);
    expectError(sub, 409, 'CONFLICT');
    assert.equal(sub.body.error.details.ports, 1);
    await h.client.deletePort(port.id);
    // Wrong vpc_id on delete is a 404, and deletes nothing.
    expectError(
      await call(h.url, 'DELETE', `/api/v1/subnets/${subnetId}?vpc_id=vpc-other`),
      404,
      'NOT_FOUND',
    );
    assert.equal((await h.client.getSubnet(subnetId)).id, subnetId);
  });

  test('unknown IDs are 404 everywhere; malformed IDs are 400', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/vpcs/vpc-nope'],
      ['DELETE', '/api/v1/vpcs/vpc-nope'],
      ['GET', '/api/v1/subnets/subnet-nope'],
      ['DELETE', '/api/v1/subnets/subnet-nope'],
      ['GET', '/api/v1/ports/port-nope'],
      ['DELETE', '/api/v1/ports/port-nope'],
      ['GET', '/api/v1/security-groups/sg-nope'],
      ['DELETE', '/api/v1/security-groups/sg-nope'],
      ['GET', '/api/v1/security-groups/sg-nope/rules'],
      ['DELETE', '/api/v1/security-groups/sg-nope/rules/sgr-nope'],
    ] as const) {
      expectError(await call(h.url, method, path), 404, 'NOT_FOUND');
    }
    expectError(await post('/api/v1/ports', { subnet_id: 'subnet-nope' }), 404, 'NOT_FOUND', 'subnet_id');
    expectError(
      await post('/api/v1/security-groups/sg-nope/rules', { direction: 'ingress' }),
      404,
      'NOT_FOUND',
    );
    expectError(
      await call(h.url, 'PATCH', '/api/v1/security-groups/sg-nope', { name: 'x' }),
      404,
      'NOT_FOUND',
    );
    expectError(await call(h.url, 'GET', '/api/v1/vpcs/vpc%2Fx'), 400, 'VALIDATION_ERROR', 'id');
    expectError(await call(h.url, 'GET', '/api/v1/vpcs?limit=0'), 400, 'VALIDATION_ERROR', 'limit');
  });

  test('ports: fixed address outside 400, gateway/taken 409, reserved 409, bad MAC 400, duplicate MAC 409', async () => {
    const p = (extra: Record<string, unknown>) => post('/api/v1/ports', { subnet_id: subnetId, ...extra });
    expectError(await p({ ip_address: '10.0.2.5' }), 400, 'VALIDATION_ERROR', 'ip_address');
    expectError(await p({ ip_address: 'fd00::5' }), 400, 'VALIDATION_ERROR', 'ip_address');
    expectError(await p({ ip_address: '10.0.1.0' }), 400, 'VALIDATION_ERROR', 'ip_address');
    expectError(await p({ ip_address: '10.0.1.255' }), 400, 'VALIDATION_ERROR', 'ip_address');
    expectError(await p({ ip_address: 'ten' }), 400, 'VALIDATION_ERROR', 'ip_address');
    expectError(await p({ ip_address: '10.0.1.1' }), 409, 'CONFLICT', 'ip_address');
    const held = await h.client.createPort({
      subnet_id: subnetId,
      ip_address: '10.0.1.50',
      mac_address: 'AA:00:00:00:00:01',
    });
    assert.equal(held.mac_address, 'aa:00:00:00:00:01');
    expectError(await p({ ip_address: '10.0.1.50' }), 409, 'CONFLICT', 'ip_address');
    expectError(await p({ mac_address: 'aa:00:00:00:00:01' }), 409, 'CONFLICT', 'mac_address');
    expectError(await p({ mac_address: '01:00:5e:00:00:01' }), 400, 'VALIDATION_ERROR', 'mac_address');
    expectError(await p({ mac_address: 'xx' }), 400, 'VALIDATION_ERROR', 'mac_address');
    expectError(await p({ security_group_ids: ['sg-nope'] }), 404, 'NOT_FOUND', 'security_group_ids');
    await h.client.deletePort(held.id);

    const vpc = await h.client.createVpc({
      name: 'r',
      org_id: 'org-1',
      project_id: 'proj-1',
      cidr_block: '10.50.0.0/16',
    });
    const reserved = await h.client.createSubnet({
      name: 'r',
      vpc_id: vpc.id,
      cidr_block: '10.50.0.0/28',
      reserved_ips: ['10.50.0.2', '10.50.0.3'],
    });
    expectError(
      await post('/api/v1/ports', { subnet_id: reserved.id, ip_address: '10.50.0.2' }),
      409,
      'CONFLICT',
      'ip_address',
    );
    // 16 - network - broadcast - gateway - 2 reserved = 11 addresses, starting at .4.
    const ips: string[] = [];
    for (let i = 0; i < 11; i++) ips.push((await h.client.createPort({ subnet_id: reserved.id })).ip_address);
    assert.deepEqual(
      ips,
      Array.from({ length: 11 }, (_, i) => `10.50.0.${i + 4}`),
    );
    const full = await post('/api/v1/ports', { subnet_id: reserved.id });
    expectError(full, 409, 'CONFLICT');
    assert.match(full.body.error.message, /no free addresses/);
  });

  test('security groups: rule validation 400, duplicate 409, in use by a port 409, remote group rules', async () => {
    const sg = await h.client.createSecurityGroup({ name: 'web', org_id: 'org-1', project_id: 'proj-1' });
    assert.equal(sg.rules.length, 2);
    assert.ok(
      sg.rules.every((r) => r.direction === 'egress'),
      'no ingress rule: default deny',
    );
    const rules = `/api/v1/security-groups/${sg.id}/rules`;
    expectError(
      await post(rules, { direction: 'ingress', protocol: 'tcp', port_range_min: 443, port_range_max: 80 }),
      400,
      'VALIDATION_ERROR',
      'port_range_min',
    );
    expectError(
      await post(rules, { direction: 'ingress', protocol: 'tcp', port_range_min: 0 }),
      400,
      'VALIDATION_ERROR',
      'port_range_min',
    );
    expectError(
      await post(rules, { direction: 'ingress', protocol: 'tcp', port_range_max: 65536 }),
      400,
      'VALIDATION_ERROR',
      'port_range_max',
    );
    expectError(await post(rules, { direction: 'sideways' }), 400, 'VALIDATION_ERROR', 'direction');
    expectError(
      await post(rules, { direction: 'ingress', protocol: 'gre' }),
      400,
      'VALIDATION_ERROR',
      'protocol',
    );
    expectError(
      await post(rules, { direction: 'ingress', protocol: 'icmp', port_range_min: 8 }),
      400,
      'VALIDATION_ERROR',
      'port_range_min',
    );
    expectError(
      await post(rules, { direction: 'ingress', remote_cidr: '10.0.0.0/40' }),
      400,
      'VALIDATION_ERROR',
      'remote_cidr',
    );
    expectError(
      await post(rules, { direction: 'ingress', remote_group_id: 'sg-nope' }),
      400,
      'VALIDATION_ERROR',
      'remote_group_id',
    );
    const https = await post(rules, {
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 443,
      port_range_max: 443,
      remote_cidr: '203.0.113.7/24',
    });
    assert.equal(https.status, 201);
    assert.equal(https.body.data.remote_cidr, '203.0.113.0/24');
    expectError(
      await post(rules, {
        direction: 'ingress',
        protocol: 'tcp',
        port_range_min: 443,
        remote_cidr: '203.0.113.0/24',
      }),
      409,
      'CONFLICT',
    );
    expectError(
      await post('/api/v1/security-groups', { name: 'x', org_id: 'org-1', project_id: 'proj-1', rules: [] }),
      400,
      'VALIDATION_ERROR',
      'rules',
    );

    const port = await h.client.createPort({ subnet_id: subnetId, security_group_ids: [sg.id] });
    assert.deepEqual(port.security_group_ids, [sg.id]);
    const busy = await call(h.url, 'DELETE', `/api/v1/security-groups/${sg.id}`);
    expectError(busy, 409, 'CONFLICT');
    assert.equal(busy.body.error.details.ports, 1);

    const db = await h.client.createSecurityGroup({ name: 'db', org_id: 'org-1', project_id: 'proj-1' });
    const fromWeb = await h.client.addRule(db.id, {
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 5432,
      remote_group_id: sg.id,
    });
    assert.equal(fromWeb.remote_group_id, sg.id);
    await h.client.deletePort(port.id);
    const referenced = await call(h.url, 'DELETE', `/api/v1/security-groups/${sg.id}`);
    expectError(referenced, 409, 'CONFLICT');
    assert.deepEqual(referenced.body.error.details.referenced_by, [db.id]);
    await h.client.deleteRule(db.id, fromWeb.id);
    expectError(
      await call(h.url, 'DELETE', `/api/v1/security-groups/${db.id}/rules/${fromWeb.id}`),
      404,
      'NOT_FOUND',
    );
    assert.deepEqual(await h.client.deleteSecurityGroup(sg.id), { id: sg.id, deleted: true });

    // Another project's group cannot be used as remote group or on a port in this project.
    const other = await h.client.createSecurityGroup({
      name: 'other',
      org_id: 'org-1',
      project_id: 'proj-2',
    });
    expectError(
      await post(`/api/v1/security-groups/${db.id}/rules`, {
        direction: 'ingress',
        remote_group_id: other.id,
      }),
      400,
      'VALIDATION_ERROR',
      'remote_group_id',
    );
    expectError(
      await post('/api/v1/ports', { subnet_id: subnetId, security_group_ids: [other.id] }),
      404,
      'NOT_FOUND',
      'security_group_ids',
    );
  });

  test('security group PATCH and DELETE honour If-Match', async () => {
    const sg = await h.client.createSecurityGroup({ name: 'etag', org_id: 'org-1', project_id: 'proj-1' });
    const got = await call(h.url, 'GET', `/api/v1/security-groups/${sg.id}`);
    const etag = got.headers.get('etag');
    assert.ok(etag);
    const renamed = await call(
      h.url,
      'PATCH',
      `/api/v1/security-groups/${sg.id}`,
      { name: 'renamed' },
      { 'if-match': etag },
    );
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.data.name, 'renamed');
    expectError(
      await call(h.url, 'PATCH', `/api/v1/security-groups/${sg.id}`, { name: 'again' }, { 'if-match': etag }),
      412,
      'PRECONDITION_FAILED',
    );
    expectError(await call(h.url, 'PATCH', `/api/v1/security-groups/${sg.id}`, {}), 400, 'VALIDATION_ERROR');
    expectError(
      await call(h.url, 'DELETE', `/api/v1/security-groups/${sg.id}`, undefined, { 'if-match': etag }),
      412,
      'PRECONDITION_FAILED',
    );
    const current = renamed.headers.get('etag');
    assert.ok(current);
    const deleted = await call(h.url, 'DELETE', `/api/v1/security-groups/${sg.id}`, undefined, {
      'if-match': current,
    });
    assert.equal(deleted.status, 200);
  });
});
