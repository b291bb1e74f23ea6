/** A small seeded PRNG (mulberry32) for property-style tests: the same seed gives the same cases. */

/** A deterministic random source. */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform bigint with `bits` random bits. */
  bigBits(bits: number): bigint;
  /** `count` random bytes. */
  bytes(count: number): Uint8Array;
}

/** A PRNG seeded with `seed`. */
export function seeded(seed: number): SeededRandom {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    bigBits(bits) {
      let v = 0n;
      for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(int(0x10000));
      return v & ((1n << BigInt(bits)) - 1n);
    },
    bytes(count) {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) out[i] = int(256);
      return out;
    },
  };
}

/** Seeds every property test runs with (fixed, so failures reproduce). */
export const SEEDS = [1, 7, 42, 1337, 20260101];
