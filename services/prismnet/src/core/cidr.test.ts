import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SEEDS, seeded } from '../../test/seeded-random.js';
import type { SeededRandom } from '../../test/seeded-random.js';
import {
  cidrContains,
  cidrContainsIp,
  cidrLast,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  parseCidr,
} from './cidr.js';
import type { Cidr } from './cidr.js';
import type { IpFamily } from './ip.js';

function must(s: string): Cidr {
  const p = parseCidr(s);
  assert.ok(p.ok, s);
  return p.cidr;
}

/** A random block inside a small window so that nesting and overlap happen often. */
function randomCidr(r: SeededRandom, family: IpFamily): Cidr {
  const bits = family === 4 ? 32 : 128;
  const base = family === 4 ? 0x0a000000n : 0xfd00n << 112n; // 10.0.0.0 / fd00::
  const window = 12; // all blocks inside base/(bits-12)
  const prefix = bits - window + r.int(window + 1);
  const host = r.bigBits(window);
  const size = 1n << BigInt(bits - prefix);
  const network = base + (host / size) * size;
  return { family, network, prefix };
}

describe('cidr', () => {
  test('parse and normalise', () => {
    assert.deepEqual(parseCidr('10.0.0.0/16'), {
      ok: true,
      cidr: { family: 4, network: 0x0a000000n, prefix: 16 },
      hostBitsSet: false,
    });
    const loose = parseCidr('10.0.3.7/24');
    assert.ok(loose.ok);
    assert.equal(loose.hostBitsSet, true);
    assert.equal(formatCidr(loose.cidr), '10.0.3.0/24');
    assert.equal(formatCidr(must('FD00:0:0:0:1::/64')), 'fd00::/64');
    assert.equal(formatCidr(must('0.0.0.0/0')), '0.0.0.0/0');
    assert.equal(formatCidr(must('::/0')), '::/0');
    for (const bad of [
      '10.0.0.0',
      '10.0.0.0/33',
      '10.0.0.0/',
      '10.0.0.0/1a',
      '10.0.0.0/016',
      'fd00::/129',
      'x/8',
      '10.0.0.256/8',
    ]) {
      assert.equal(parseCidr(bad).ok, false, bad);
    }
    assert.equal(cidrSize(must('10.0.0.0/26')), 64n);
    assert.equal(cidrLast(must('10.0.0.0/26')), 0x0a00003fn);
    assert.equal(cidrSize(must('fd00::/64')), 1n << 64n);
  });

  test('families never contain or overlap each other', () => {
    assert.equal(cidrsOverlap(must('0.0.0.0/0'), must('::/0')), false);
    assert.equal(cidrContains(must('::/0'), must('10.0.0.0/8')), false);
    assert.equal(cidrContainsIp(must('::/0'), { family: 4, value: 1n }), false);
  });

  for (const seed of SEEDS) {
    for (const family of [4, 6] as const) {
      test(`containment and overlap match interval arithmetic, IPv${family}, seed ${seed}`, () => {
        const r = seeded(seed * 10 + family);
        for (let i = 0; i < 400; i++) {
          const a = randomCidr(r, family);
          const b = randomCidr(r, family);
          const [a0, a1, b0, b1] = [a.network, cidrLast(a), b.network, cidrLast(b)];
          assert.equal(cidrContains(a, b), b0 >= a0 && b1 <= a1, `${formatCidr(a)} ⊇ ${formatCidr(b)}`);
          assert.equal(cidrsOverlap(a, b), a0 <= b1 && b0 <= a1, `${formatCidr(a)} ∩ ${formatCidr(b)}`);
          const p = parseCidr(formatCidr(a));
          assert.ok(p.ok && !p.hostBitsSet);
          assert.deepEqual(p.cidr, a);
          const ip = { family, value: a0 + r.bigBits(14) };
          assert.equal(cidrContainsIp(a, ip), ip.value >= a0 && ip.value <= a1);
        }
      });
    }
  }
});
