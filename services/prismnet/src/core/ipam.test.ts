import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SEEDS, seeded } from '../../test/seeded-random.js';
import { parseCidr } from './cidr.js';
import type { Cidr } from './cidr.js';
import { parseIp } from './ip.js';
import type { IpAddress } from './ip.js';
import { allocatableCount, hostRange, judgeFixedIp, nextFree, randomBelow, reservedValues } from './ipam.js';
import type { IpamSubnet } from './ipam.js';

function cidr(s: string): Cidr {
  const p = parseCidr(s);
  assert.ok(p.ok);
  return p.cidr;
}
function ip(s: string): IpAddress {
  const a = parseIp(s);
  assert.ok(a);
  return a;
}

describe('ipam', () => {
  test('host range, gateway and reserved addresses', () => {
    const s: IpamSubnet = { cidr: cidr('10.0.0.0/26'), gateway: ip('10.0.0.1'), reserved: [] };
    assert.deepEqual(hostRange(s.cidr), { first: 0x0a000001n, last: 0x0a00003en });
    // 64 addresses - network - broadcast - gateway.
    assert.equal(allocatableCount(s), 61n);
    assert.equal(allocatableCount({ ...s, reserved: [ip('10.0.0.5'), ip('10.0.0.6')] }), 59n);
    // IPv6 has no broadcast: 256 - network - gateway.
    assert.equal(allocatableCount({ cidr: cidr('fd00::/120'), gateway: ip('fd00::1'), reserved: [] }), 254n);
    assert.equal(judgeFixedIp(s, ip('10.0.0.2')), 'ok');
    assert.equal(judgeFixedIp(s, ip('10.0.0.0')), 'not_host');
    assert.equal(judgeFixedIp(s, ip('10.0.0.63')), 'not_host');
    assert.equal(judgeFixedIp(s, ip('10.0.0.64')), 'outside');
    assert.equal(judgeFixedIp(s, ip('fd00::2')), 'family');
    assert.equal(judgeFixedIp(s, ip('10.0.0.1')), 'gateway');
    assert.equal(judgeFixedIp({ ...s, reserved: [ip('10.0.0.9')] }, ip('10.0.0.9')), 'reserved');
  });

  for (const seed of SEEDS) {
    test(`nextFree and allocatableCount match a brute-force scan, seed ${seed}`, () => {
      const r = seeded(seed);
      for (let round = 0; round < 300; round++) {
        const prefix = 24 + r.int(5); // /24 … /28
        const c = cidr(`10.1.2.0/${prefix}`);
        const range = hostRange(c);
        const size = Number(range.last - range.first + 1n);
        const gateway = { family: 4 as const, value: range.first + BigInt(r.int(size)) };
        const reserved = Array.from({ length: r.int(4) }, () => ({
          family: 4 as const,
          value: range.first + BigInt(r.int(size)),
        }));
        const s: IpamSubnet = { cidr: c, gateway, reserved };
        // Fill a random fraction, sometimes everything.
        const fill = r.int(4) === 0 ? 1 : r.next();
        const taken = new Set<bigint>();
        for (let v = range.first; v <= range.last; v++) if (r.next() < fill) taken.add(v);
        const unavailable = new Set([...taken, ...reservedValues(s)]);
        const start = range.first + BigInt(r.int(size));
        // Reference: scan start..last, then first..start-1.
        let expected: bigint | undefined;
        for (let i = 0; i < size && expected === undefined; i++) {
          const v = range.first + ((start - range.first + BigInt(i)) % BigInt(size));
          if (!unavailable.has(v)) expected = v;
        }
        assert.equal(nextFree(range, unavailable, start), expected);
        let free = 0n;
        for (let v = range.first; v <= range.last; v++) if (!reservedValues(s).has(v)) free++;
        assert.equal(allocatableCount(s), free);
      }
    });
  }

  test('nextFree stays cheap in a /64', () => {
    const c = cidr('fd00:1::/64');
    const range = hostRange(c);
    const taken = new Set<bigint>([range.first, range.first + 1n, range.first + 2n]);
    assert.equal(nextFree(range, taken), range.first + 3n);
    assert.equal(nextFree(range, new Set([range.last]), range.last), range.first);
  });

  for (const seed of SEEDS) {
    test(`randomBelow stays in range and covers it, seed ${seed}`, () => {
      const r = seeded(seed);
      const seen = new Set<bigint>();
      for (let i = 0; i < 2000; i++) {
        const v = randomBelow(61n, r.bytes);
        assert.ok(v >= 0n && v < 61n);
        seen.add(v);
      }
      assert.equal(seen.size, 61);
      const big = randomBelow(1n << 64n, r.bytes);
      assert.ok(big >= 0n && big < 1n << 64n);
      assert.equal(randomBelow(1n, r.bytes), 0n);
    });
  }
});
