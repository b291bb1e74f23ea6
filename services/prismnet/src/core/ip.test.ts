import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SEEDS, seeded } from '../../test/seeded-random.js';
import { canonicalIp, formatIp, maxAddress, parseIp } from './ip.js';

/** Reference IPv6 formatter: full form, then the brute-force longest zero run replaced. */
function referenceV6(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt((7 - i) * 16)) & 0xffffn));
  let best = { start: -1, len: 0 };
  for (let s = 0; s < 8; s++) {
    for (let e = s; e < 8 && groups[e] === 0; e++) {
      if (e - s + 1 > best.len) best = { start: s, len: e - s + 1 };
    }
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.len < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

describe('ip parse/format', () => {
  test('IPv4 examples', () => {
    assert.deepEqual(parseIp('10.0.1.1'), { family: 4, value: 0x0a000101n });
    assert.deepEqual(parseIp('255.255.255.255'), { family: 4, value: 0xffffffffn });
    for (const bad of [
      '10.0.1',
      '10.0.1.256',
      '010.0.0.1',
      '1.2.3.4.5',
      '1..2.3',
      ' 1.2.3.4',
      '1.2.3.-4',
      '',
    ]) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });

  test('IPv6 examples (RFC 5952 output)', () => {
    assert.equal(canonicalIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonicalIp('::'), '::');
    assert.equal(canonicalIp('::1'), '::1');
    assert.equal(canonicalIp('fd00::'), 'fd00::');
    assert.equal(canonicalIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(canonicalIp('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1');
    assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalIp('::ffff:192.0.2.1'), '::ffff:c000:201');
    assert.equal(canonicalIp('1:2:3:4:5:6:7::'), '1:2:3:4:5:6:7:0');
    for (const bad of [
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'g::1',
      'fe80::1%eth0',
      '1:2:3:4:5:6:7:8::',
    ]) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });

  for (const seed of SEEDS) {
    test(`round trip and reference formatting, seed ${seed}`, () => {
      const r = seeded(seed);
      for (let i = 0; i < 500; i++) {
        const v4 = r.bigBits(32);
        assert.deepEqual(parseIp(formatIp({ family: 4, value: v4 })), { family: 4, value: v4 });
        // Sparse IPv6 values so that zero runs of every length occur.
        let v6 = 0n;
        for (let g = 0; g < 8; g++) v6 = (v6 << 16n) | (r.int(3) === 0 ? BigInt(r.int(0x10000)) : 0n);
        const text = formatIp({ family: 6, value: v6 });
        assert.equal(text, referenceV6(v6));
        assert.deepEqual(parseIp(text), { family: 6, value: v6 });
        assert.ok(v6 <= maxAddress(6));
      }
    });
  }
});
