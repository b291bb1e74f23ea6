import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { decodeXorChunk, XorChunkEncoder } from './xor-chunk.js';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sameValue(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

test('XOR chunk round-trips random series (property test, 300 seeds)', () => {
  const specials = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e308, 5e-324, 0.1, 123456789.123];
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(seed);
    const n = 1 + Math.floor(r() * 200);
    const enc = new XorChunkEncoder();
    const want: { t: number; v: number; stale: boolean }[] = [];
    let t = Math.floor((r() - 0.5) * 2e12);
    let v = r() * 1000;
    for (let i = 0; i < n; i++) {
      const mode = r();
      // Regular scrapes, jitter, big gaps and huge jumps exercise every delta-of-delta bucket.
      t +=
        mode < 0.5
          ? 15000
          : mode < 0.8
            ? 1 + Math.floor(r() * 100000)
            : mode < 0.95
              ? Math.floor(r() * 1e7)
              : Math.floor(r() * 1e12) + 1;
      const vm = r();
      // vm < 0.3 keeps the value (repeats compress to one bit).
      if (vm >= 0.3 && vm < 0.6) v += Math.floor(r() * 10);
      else if (vm >= 0.6 && vm < 0.8) v = (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
      else if (vm >= 0.8) v = specials[Math.floor(r() * specials.length)] as number;
      const stale = r() < 0.05;
      enc.append(t, v, stale);
      want.push({ t, v, stale });
    }
    const got = decodeXorChunk(enc.bytes(), enc.count);
    assert.equal(got.length, want.length);
    for (let i = 0; i < n; i++) {
      const g = got[i]!;
      const w = want[i]!;
      assert.equal(g.t, w.t, `seed ${seed} sample ${i} t`);
      assert.equal(g.stale, w.stale, `seed ${seed} sample ${i} stale`);
      if (!w.stale) assert.ok(sameValue(g.v, w.v), `seed ${seed} sample ${i}: ${g.v} != ${w.v}`);
    }
  }
});

test('XOR chunk compresses regular scrapes of a slowly changing counter well', () => {
  const enc = new XorChunkEncoder();
  for (let i = 0; i < 120; i++) enc.append(1_700_000_000_000 + i * 15_000, 1000 + i);
  assert.ok(enc.bytes().length < 120 * 4, `expected < 4 bytes/sample, got ${enc.bytes().length} bytes`);
});
