/**
 * IPAM under concurrency, over real HTTP and the real ChainFire engine: parallel port creations never
 * get the same address, the subnet's exhaustion is a clean 409, deletes release every IPAM key, and
 * the freed addresses are allocated again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, prefixEnd } from '@photoncloud/store';
import { PRISMNET_KEYS } from '../src/index.js';
import { call, startHarness } from './helpers.js';
import type { Harness, JsonResponse } from './helpers.js';

let h: Harness;

async function keyCount(prefix: string): Promise<number> {
  const key = bytes(prefix);
  return (await h.store.range({ key, rangeEnd: prefixEnd(key), countOnly: true })).count;
}

function ipv4(s: string): number {
  return s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

describe('IPAM concurrency', () => {
  let subnetId: string;

  before(async () => {
    h = await startHarness();
    const vpc = await h.client.createVpc({
      name: 'ipam',
      org_id: 'org-1',
      project_id: 'proj-1',
      cidr_block: '10.20.0.0/16',
      ipv6_cidr_block: 'fd00:20::/48',
    });
    subnetId = (await h.client.createSubnet({ name: 'small', vpc_id: vpc.id, cidr_block: '10.20.5.0/26' }))
      .id;
  });
  after(async () => {
    await h?.close();
  });

  async function round(requests: number): Promise<{ ok: JsonResponse[]; failed: JsonResponse[] }> {
    const results = await Promise.all(
      Array.from({ length: requests }, (_, i) =>
        call(h.url, 'POST', '/api/v1/ports', {
          subnet_id: subnetId,
          device_owner: 'compute:vm',
          device_id: `vm-${i}`,
        }),
      ),
    );
    return { ok: results.filter((r) => r.status === 201), failed: results.filter((r) => r.status !== 201) };
  }

  test('70 parallel creations in a /26 (61 allocatable): 61 distinct addresses, 9 × 409, release, again', async () => {
    for (let pass = 1; pass <= 2; pass++) {
      const { ok, failed } = await round(70);
      assert.equal(ok.length, 61, `pass ${pass}: every allocatable address handed out`);
      assert.equal(failed.length, 9);
      for (const f of failed) {
        assert.equal(f.status, 409);
        assert.equal(f.body.error.code, 'CONFLICT');
        assert.match(f.body.error.message, /no free addresses/);
      }
      const ips = ok.map((r) => r.body.data.ip_address as string);
      assert.equal(new Set(ips).size, 61, 'no address handed out twice');
      const macs = ok.map((r) => r.body.data.mac_address as string);
      assert.equal(new Set(macs).size, 61, 'MACs are unique');
      const base = ipv4('10.20.5.0');
      for (const ip of ips) {
        const off = ipv4(ip) - base;
        // Not the network (0), the gateway (1) or the broadcast (63).
        assert.ok(off >= 2 && off <= 62, `${ip} is a usable host address`);
      }
      assert.equal(await keyCount(PRISMNET_KEYS.ipamOf(subnetId)), 61);

      const deletes = await Promise.all(
        ok.map((r) => call(h.url, 'DELETE', `/api/v1/ports/${r.body.data.id as string}`)),
      );
      assert.ok(deletes.every((d) => d.status === 200));
      assert.equal(await keyCount(PRISMNET_KEYS.ipamOf(subnetId)), 0, 'every IPAM key released');
      assert.equal(await keyCount(PRISMNET_KEYS.ports), 0);
      for (const mac of macs) assert.equal(await keyCount(PRISMNET_KEYS.mac(mac)), 0);
    }
  });

  test('the same fixed address requested 12 times at once: exactly one wins, the rest get 409', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        call(h.url, 'POST', '/api/v1/ports', { subnet_id: subnetId, ip_address: '10.20.5.40' }),
      ),
    );
    const won = results.filter((r) => r.status === 201);
    assert.equal(won.length, 1);
    assert.equal(won[0]!.body.data.ip_address, '10.20.5.40');
    for (const r of results.filter((x) => x.status !== 201)) {
      assert.equal(r.status, 409);
      assert.match(r.body.error.message, /already in use/);
    }
    // Automatic allocation skips it.
    const next = await h.client.createPort({ subnet_id: subnetId });
    assert.equal(next.ip_address, '10.20.5.2');
    await h.client.deletePort(won[0]!.body.data.id as string);
    await h.client.deletePort(next.id);
  });

  test('IPv6: 40 parallel creations in a /120 get distinct addresses inside it', async () => {
    const vpc = (await h.client.listVpcs()).items[0]!;
    const v6 = await h.client.createSubnet({ name: 'v6', vpc_id: vpc.id, cidr_block: 'fd00:20:0:1::/120' });
    assert.equal(v6.gateway_ip, 'fd00:20:0:1::1');
    assert.equal(v6.ip_version, 6);
    const results = await Promise.all(
      Array.from({ length: 40 }, () => call(h.url, 'POST', '/api/v1/ports', { subnet_id: v6.id })),
    );
    assert.ok(results.every((r) => r.status === 201));
    const ips = results.map((r) => r.body.data.ip_address as string);
    assert.equal(new Set(ips).size, 40);
    for (const ip of ips) {
      assert.match(ip, /^fd00:20:0:1::([0-9a-f]{1,2})$/);
      assert.notEqual(ip, 'fd00:20:0:1::1');
    }
    assert.equal(await keyCount(PRISMNET_KEYS.ipamOf(v6.id)), 40);
    // After lost races the allocator spreads out from a random point, so any address may be taken: use one
    // that is not, written in upper case and uncompressed.
    const used = new Set(ips);
    const free = Array.from({ length: 254 }, (_, i) => (i + 2).toString(16)).find(
      (x) => !used.has(`fd00:20:0:1::${x}`),
    )!;
    const fixed = await h.client.createPort({
      subnet_id: v6.id,
      ip_address: `FD00:20:0:1:0:0:0:${free.toUpperCase()}`,
    });
    assert.equal(fixed.ip_address, `fd00:20:0:1::${free}`, 'fixed IPv6 addresses are canonicalised');
    // An address already allocated is refused as a fixed one.
    const taken = await call(h.url, 'POST', '/api/v1/ports', { subnet_id: v6.id, ip_address: ips[0] });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.error.details.field, 'ip_address');
  });
});
