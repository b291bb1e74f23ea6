/**
 * PrismNET the way `photoncloud serve prismnet` runs it: against ChainFire over its etcd v3 gRPC API
 * (EtcdStore), not in-process. The transactions with range compares (delete-if-empty, no-new-sibling)
 * and create-only address keys must behave the same over the wire.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@photoncloud/log';
import { EtcdStore } from '@photoncloud/store';
import { PrismNetClient } from '@photoncloud/prismnet-api';
import { tempDir } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { startChainFireServer } from '../../chainfire/src/server.js';
import type { ChainFireServer } from '../../chainfire/src/server.js';
import { startPrismNetServer } from '../src/server.js';
import type { PrismNetServer } from '../src/server.js';
import { call } from './helpers.js';

describe('PrismNET over ChainFire etcd v3 gRPC', () => {
  let dir: TempDir;
  let chainfire: ChainFireServer;
  let store: EtcdStore;
  let server: PrismNetServer;
  let client: PrismNetClient;

  before(async () => {
    dir = await tempDir('prismnet-grpc-');
    const logger = createLogger({ service: 'test', level: 'silent' });
    chainfire = await startChainFireServer({
      dataDir: dir.path,
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: 0,
      authMode: 'local',
      logger,
    });
    store = new EtcdStore({ endpoints: [chainfire.grpcAddress] });
    server = await startPrismNetServer({ store, auth: { mode: 'local' }, logger });
    client = new PrismNetClient({ baseUrl: server.url });
  });
  after(async () => {
    await server?.close();
    await store?.close();
    await chainfire?.close();
    await dir?.cleanup();
  });

  test('create, exhaust, conflict and release over the wire', async () => {
    const vpc = await client.createVpc({
      name: 'wire',
      org_id: 'o',
      project_id: 'p',
      cidr_block: '10.7.0.0/16',
    });
    const subnet = await client.createSubnet({ name: 'tiny', vpc_id: vpc.id, cidr_block: '10.7.0.0/28' });
    assert.equal(
      (
        await call(server.url, 'POST', '/api/v1/subnets', {
          name: 'x',
          vpc_id: vpc.id,
          cidr_block: '10.7.0.0/24',
        })
      ).status,
      409,
    );
    // 16 - network - broadcast - gateway = 13.
    const results = await Promise.all(
      Array.from({ length: 16 }, () => call(server.url, 'POST', '/api/v1/ports', { subnet_id: subnet.id })),
    );
    const ok = results.filter((r) => r.status === 201);
    assert.equal(ok.length, 13);
    assert.equal(new Set(ok.map((r) => r.body.data.ip_address)).size, 13);
    assert.ok(results.filter((r) => r.status !== 201).every((r) => r.status === 409));
    assert.equal((await call(server.url, 'DELETE', `/api/v1/subnets/${subnet.id}`)).status, 409);
    assert.equal((await call(server.url, 'DELETE', `/api/v1/vpcs/${vpc.id}`)).status, 409);
    for (const r of ok) await client.deletePort(r.body.data.id as string);
    await client.deleteSubnet(subnet.id);
    await client.deleteVpc(vpc.id);
    assert.equal((await client.listVpcs()).total, 0);
  });
});
