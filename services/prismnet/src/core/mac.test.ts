import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SEEDS, seeded } from '../../test/seeded-random.js';
import { generateMac, isLocalUnicast, parseMac } from './mac.js';

describe('mac', () => {
  for (const seed of SEEDS) {
    test(`generated MACs are locally administered unicast, seed ${seed}`, () => {
      const r = seeded(seed);
      const seen = new Set<string>();
      for (let i = 0; i < 1000; i++) {
        const mac = generateMac(r.bytes);
        assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        assert.ok(isLocalUnicast(mac), mac);
        const parsed = parseMac(mac);
        assert.ok(parsed.ok && parsed.mac === mac);
        seen.add(mac);
      }
      assert.ok(seen.size > 990, 'a fresh random source rarely repeats');
    });
  }

  test('the same source gives the same MAC (deterministic with a seed)', () => {
    assert.equal(generateMac(seeded(5).bytes), generateMac(seeded(5).bytes));
    assert.equal(
      generateMac(() => Uint8Array.of(0xff, 1, 2, 3, 4, 5)),
      'fe:01:02:03:04:05',
    );
  });

  test('parse normalises and refuses non-unicast', () => {
    assert.deepEqual(parseMac('AA-BB-CC-DD-EE-FF'.replace('AA', 'A2')), {
      ok: true,
      mac: 'a2:bb:cc:dd:ee:ff',
    });
    assert.deepEqual(parseMac('01:00:5e:00:00:01'), { ok: false, reason: 'multicast' });
    assert.deepEqual(parseMac('ff:ff:ff:ff:ff:ff'), { ok: false, reason: 'multicast' });
    assert.deepEqual(parseMac('00:00:00:00:00:00'), { ok: false, reason: 'zero' });
    for (const bad of ['aa:bb:cc:dd:ee', 'aa:bb-cc:dd:ee:ff', 'gg:bb:cc:dd:ee:ff', 'aabbccddeeff']) {
      assert.deepEqual(parseMac(bad), { ok: false, reason: 'format' }, bad);
    }
  });
});
