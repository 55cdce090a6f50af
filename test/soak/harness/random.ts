/**
 * The soak's seeded random numbers (mulberry32). Every choice the soak makes (which messages
 * are invalid, their IDs, the chaos schedule) draws from a stream forked off the run's seed, so
 * a seed replays the same run: the same messages, the same faults at the same offsets.
 * (Replicas, the SDK and the operating system still schedule work as they like, so a replay
 * reproduces the conditions, not every interleaving.)
 */
export class Rng {
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

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(0, 255)));
  }

  /**
   * An independent stream for one part of the run, so that changing how many numbers one part
   * draws (say, a new kind of message) leaves the other parts' choices as they were.
   */
  fork(label: string): Rng {
    let h = this.state ^ 0x9e3779b9;
    for (const ch of label) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    return new Rng(h);
  }
}

/** A fresh seed for a run that was given none (printed, so the run can be replayed). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
