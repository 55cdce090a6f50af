/**
 * Deterministic pseudo-random numbers (sfc32 seeded through splitmix32), so a given seed
 * reproduces uids, generated names, pod IPs, jitter and injected error decisions.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** `count` characters drawn from `alphabet`. */
  chars(alphabet: string, count: number): string {
    let out = '';
    for (let i = 0; i < count; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }

  /** An RFC 4122 version-4 UUID. */
  uuid(): string {
    const hex = (n: number): string => n.toString(16).padStart(8, '0');
    const p = hex(this.uint32()) + hex(this.uint32()) + hex(this.uint32()) + hex(this.uint32());
    const variant = ((parseInt(p[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
    return `${p.slice(0, 8)}-${p.slice(8, 12)}-4${p.slice(13, 16)}-${variant}${p.slice(17, 20)}-${p.slice(20, 32)}`;
  }

  /** A child generator with its own stream (one per cluster, so clusters do not interfere). */
  fork(salt: number): SeededRandom {
    return new SeededRandom((this.uint32() ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0);
  }
}

/** The alphabet of generateName suffixes (no vowels, no confusable characters), as upstream. */
export const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
