/**
 * The REST API guide's §7 (PrismNET) curl examples, run verbatim with the real `curl` (and `jq` where the
 * guide pipes into it) against PrismNET on a free port; only `http://localhost:8087` is rewritten to the
 * test server's URL. The examples name fixed IDs (vpc-001, subnet-001…003), so those records are created
 * first through the service's own repository with exactly those IDs, as the guide's listing shows them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rfc3339 } from '@photoncloud/http-kit';
import { PrismNetRepo } from '../src/storage/prismnet-repo.js';
import { startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const exec = promisify(execFile);

let h: Harness;

/** Run a shell snippet from the guide with the port rewritten; returns stdout. */
async function sh(snippet: string): Promise<string> {
  const cmd = snippet.replaceAll('http://localhost:8087', h.url);
  assert.notEqual(cmd, snippet, 'the snippet must address PrismNET');
  const { stdout } = await exec('bash', ['-c', `set -euo pipefail\n${cmd}`], { timeout: 30_000 });
  return stdout;
}

/** Run one curl command from the guide, adding only `-w` to learn the status; parse the JSON body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically.
async function curl(snippet: string): Promise<{ status: number; body: any }> {
  const out = await sh(`${snippet} -s -w '\\n%{http_code}'`);
  const nl = out.lastIndexOf('\n');
  const status = Number(out.slice(nl + 1));
  return { status, body: JSON.parse(out.slice(0, nl)) };
}

describe('guide §7 PrismNET curl examples', () => {
  before(async () => {
    h = await startHarness();
    // The records the guide's examples refer to, with the guide's IDs and values.
    const ids = ['subnet-001', 'subnet-002', 'subnet-003'];
    const repo = new PrismNetRepo({
      store: h.store,
      newId: () => ids.shift() ?? 'subnet-extra',
      now: () => rfc3339(),
      randomBytes: (n) => new Uint8Array(n).fill(7),
    });
    await repo.createVpc({
      id: 'vpc-001',
      name: 'production-vpc',
      org_id: 'org-123',
      project_id: 'proj-456',
      cidr_block: '10.0.0.0/16',
      ipv6_cidr_block: null,
      description: 'Production environment VPC',
      status: 'active',
      created_at: rfc3339(),
    });
    const inVpc = () => undefined;
    await repo.createSubnet(
      {
        name: 'web-subnet',
        vpc_id: 'vpc-001',
        cidr_block: '10.0.1.0/24',
        gateway_ip: '10.0.1.1',
        description: 'Web tier subnet',
      },
      inVpc,
    );
    await repo.createSubnet(
      {
        name: 'db-subnet',
        vpc_id: 'vpc-001',
        cidr_block: '10.0.2.0/24',
        gateway_ip: '10.0.2.1',
        description: 'Database tier subnet',
      },
      inVpc,
    );
    await repo.createSubnet({ name: 'old-subnet', vpc_id: 'vpc-001', cidr_block: '10.0.9.0/24' }, inVpc);
  });
  after(async () => {
    await h?.close();
  });

  test('Health Check', async () => {
    const { status, body } = await curl('curl http://localhost:8087/health');
    assert.equal(status, 200);
    assert.equal(body.data.status, 'healthy');
    assert.equal(body.data.service, 'prismnet');
  });

  test('List VPCs (the response shape of the guide)', async () => {
    const { status, body } = await curl(
      'curl "http://localhost:8087/api/v1/vpcs?org_id=org-123&project_id=proj-456"',
    );
    assert.equal(status, 200);
    assert.equal(body.success, true);
    const vpc = body.data.vpcs.find((v: { id: string }) => v.id === 'vpc-001');
    assert.deepEqual(
      {
        id: vpc.id,
        name: vpc.name,
        org_id: vpc.org_id,
        project_id: vpc.project_id,
        cidr_block: vpc.cidr_block,
        description: vpc.description,
        status: vpc.status,
      },
      {
        id: 'vpc-001',
        name: 'production-vpc',
        org_id: 'org-123',
        project_id: 'proj-456',
        cidr_block: '10.0.0.0/16',
        description: 'Production environment VPC',
        status: 'active',
      },
    );
    assert.equal(typeof body.meta.request_id, 'string');
    assert.equal(typeof body.meta.timestamp, 'string');
  });

  test('Create VPC', async () => {
    const { status, body } = await curl(`curl -X POST http://localhost:8087/api/v1/vpcs \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "staging-vpc",
    "org_id": "org-123",
    "project_id": "proj-456",
    "cidr_block": "172.16.0.0/16",
    "description": "Staging environment VPC"
  }'`);
    assert.equal(status, 201);
    assert.match(body.data.id, /^vpc-[0-9a-f]{16}$/);
    assert.equal(body.data.name, 'staging-vpc');
    assert.equal(body.data.cidr_block, '172.16.0.0/16');
    assert.equal(body.data.description, 'Staging environment VPC');
    assert.equal(body.data.status, 'active');
    assert.match(body.data.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const list = await curl('curl "http://localhost:8087/api/v1/vpcs?org_id=org-123&project_id=proj-456"');
    assert.ok(list.body.data.vpcs.some((v: { id: string }) => v.id === body.data.id));
  });

  test('Authentication section: create production-vpc with a tenancy body', async () => {
    const { status, body } = await curl(`curl -X POST http://localhost:8087/api/v1/vpcs \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "production-vpc",
    "org_id": "org-123",
    "project_id": "proj-456",
    "cidr_block": "10.0.0.0/16"
  }'`);
    assert.equal(status, 201);
    assert.equal(body.data.org_id, 'org-123');
    assert.equal(body.data.project_id, 'proj-456');
  });

  test('Get VPC', async () => {
    const { status, body } = await curl(
      'curl "http://localhost:8087/api/v1/vpcs/vpc-001?org_id=org-123&project_id=proj-456"',
    );
    assert.equal(status, 200);
    assert.equal(body.data.id, 'vpc-001');
    assert.equal(body.data.cidr_block, '10.0.0.0/16');
  });

  test('List Subnets (the response shape of the guide)', async () => {
    const { status, body } = await curl(
      'curl "http://localhost:8087/api/v1/subnets?vpc_id=vpc-001&org_id=org-123&project_id=proj-456"',
    );
    assert.equal(status, 200);
    const pick = (s: Record<string, unknown>) => ({
      id: s['id'],
      name: s['name'],
      vpc_id: s['vpc_id'],
      cidr_block: s['cidr_block'],
      gateway_ip: s['gateway_ip'],
      description: s['description'],
      status: s['status'],
    });
    assert.deepEqual(body.data.subnets.slice(0, 2).map(pick), [
      {
        id: 'subnet-001',
        name: 'web-subnet',
        vpc_id: 'vpc-001',
        cidr_block: '10.0.1.0/24',
        gateway_ip: '10.0.1.1',
        description: 'Web tier subnet',
        status: 'active',
      },
      {
        id: 'subnet-002',
        name: 'db-subnet',
        vpc_id: 'vpc-001',
        cidr_block: '10.0.2.0/24',
        gateway_ip: '10.0.2.1',
        description: 'Database tier subnet',
        status: 'active',
      },
    ]);
  });

  test('Create Subnet', async () => {
    const { status, body } = await curl(`curl -X POST http://localhost:8087/api/v1/subnets \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "app-subnet",
    "vpc_id": "vpc-001",
    "cidr_block": "10.0.3.0/24",
    "gateway_ip": "10.0.3.1",
    "description": "Application tier subnet"
  }'`);
    assert.equal(status, 201);
    assert.match(body.data.id, /^subnet-[0-9a-f]{16}$/);
    assert.equal(body.data.vpc_id, 'vpc-001');
    assert.equal(body.data.cidr_block, '10.0.3.0/24');
    assert.equal(body.data.gateway_ip, '10.0.3.1');
    assert.equal(body.data.org_id, 'org-123', 'inherits the VPC tenancy');
    assert.equal(body.data.project_id, 'proj-456');
  });

  test('Delete Subnet', async () => {
    const { status, body } = await curl(
      'curl -X DELETE "http://localhost:8087/api/v1/subnets/subnet-003?org_id=org-123&project_id=proj-456&vpc_id=vpc-001"',
    );
    assert.equal(status, 200);
    assert.deepEqual(body.data, { id: 'subnet-003', deleted: true });
    const again = await curl(
      'curl -X DELETE "http://localhost:8087/api/v1/subnets/subnet-003?org_id=org-123&project_id=proj-456&vpc_id=vpc-001"',
    );
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'NOT_FOUND');
  });

  test('Delete VPC: 409 while it has subnets, 200 once they are gone', async () => {
    const cmd =
      'curl -X DELETE "http://localhost:8087/api/v1/vpcs/vpc-001?org_id=org-123&project_id=proj-456"';
    const busy = await curl(cmd);
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error.code, 'CONFLICT');
    assert.equal(busy.body.error.details.subnets, 3);
    for (const s of (await h.client.listSubnets({ vpc_id: 'vpc-001' })).items)
      await h.client.deleteSubnet(s.id);
    const done = await curl(cmd);
    assert.equal(done.status, 200);
    assert.deepEqual(done.body.data, { id: 'vpc-001', deleted: true });
    const gone = await curl(
      'curl "http://localhost:8087/api/v1/vpcs/vpc-001?org_id=org-123&project_id=proj-456"',
    );
    assert.equal(gone.status, 404);
  });

  test('Example 1, steps 1–2: create a VPC and a subnet with jq', async () => {
    const out = await sh(`# 1. Create VPC
VPC_ID=$(curl -s -X POST http://localhost:8087/api/v1/vpcs \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "app-vpc",
    "org_id": "org-123",
    "project_id": "proj-456",
    "cidr_block": "10.100.0.0/16"
  }' | jq -r '.data.id')

# 2. Create Subnet
SUBNET_ID=$(curl -s -X POST http://localhost:8087/api/v1/subnets \\
  -H "Content-Type: application/json" \\
  -d "{
    \\"name\\": \\"app-subnet\\",
    \\"vpc_id\\": \\"$VPC_ID\\",
    \\"cidr_block\\": \\"10.100.1.0/24\\",
    \\"gateway_ip\\": \\"10.100.1.1\\"
  }" | jq -r '.data.id')
echo "$VPC_ID $SUBNET_ID"`);
    const [vpcId, subnetId] = out.trim().split(' ');
    assert.match(vpcId ?? '', /^vpc-[0-9a-f]{16}$/);
    assert.match(subnetId ?? '', /^subnet-[0-9a-f]{16}$/);
    const subnet = await h.client.getSubnet(subnetId!);
    assert.equal(subnet.vpc_id, vpcId);
    assert.equal(subnet.cidr_block, '10.100.1.0/24');
  });

  test('Error Response Example: missing cidr_block is 400 VALIDATION_ERROR with details.field', async () => {
    const { status, body } = await curl(`curl -X POST http://localhost:8087/api/v1/vpcs \\
  -H "Content-Type: application/json" \\
  -d '{"name": "invalid"}'`);
    assert.equal(status, 400);
    assert.equal(body.success, false);
    assert.equal(body.error.code, 'VALIDATION_ERROR');
    assert.equal(body.error.message, 'cidr_block is required');
    assert.equal(body.error.details.field, 'cidr_block');
    assert.equal(body.error.details.constraint, 'required');
    assert.equal(typeof body.meta.request_id, 'string');
  });

  test('Pretty-print: curl …/vpcs | jq', async () => {
    const out = await sh(`curl -s http://localhost:8087/api/v1/vpcs | jq '.'`);
    const body = JSON.parse(out);
    assert.equal(body.success, true);
    assert.ok(Array.isArray(body.data.vpcs));
    assert.ok(body.data.vpcs.length >= 3);
  });

  test('Health loop form: curl -s …/health | jq -r .data.status', async () => {
    const out = await sh(`curl -s http://localhost:8087/health | jq -r '.data.status // "ERROR"'`);
    assert.equal(out.trim(), 'healthy');
  });
});
