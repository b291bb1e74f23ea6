import { seededRandom } from '../core/raft-core.js';

/** A seeded random source with the helpers the simulation needs (deterministic per seed). */
export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('rng: pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A derived seed, for a component that needs its own stream. */
  fork(): number {
    return Math.floor(this.next() * 0x7fffffff);
  }
}
