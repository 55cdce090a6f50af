/**
 * A small seeded pseudo-random generator (mulberry32), so that a fault seed reproduces which
 * deliveries, settlements and connections an injected fault hits, given the same order of
 * events.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** True with probability `rate`; a rate of 0 consumes no number (so it does not shift others). */
  chance(rate: number): boolean {
    if (rate <= 0) return false;
    return this.next() < rate;
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** An independent generator for one purpose, derived from `seed` and a name. */
  static stream(seed: number, name: string): SeededRandom {
    let h = (seed ^ 0x811c9dc5) >>> 0;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
    return new SeededRandom(h);
  }
}
