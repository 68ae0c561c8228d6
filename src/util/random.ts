/**
 * Randomness as an injected port (DESIGN.md §2). The deterministic cores draw every random choice from
 * a `Random` they are handed; the simulator hands them one seeded PRNG so a seed replays exactly.
 */

export interface Random {
  /** A uniformly distributed integer in [0, maxExclusive). `maxExclusive` must be a positive integer. */
  int(maxExclusive: number): number;
  /** A uniformly distributed float in [0, 1). */
  float(): number;
}

/**
 * sfc32 ("small fast counter") seeded through splitmix32: fast, 128 bits of state, and good enough
 * statistical quality for fault scheduling and election jitter. Not for cryptography.
 */
export class SeededRandom implements Random {
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
    for (let i = 0; i < 12; i++) this.next32();
  }

  next32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  float(): number {
    return this.next32() / 4294967296;
  }

  int(maxExclusive: number): number {
    if (!(Number.isSafeInteger(maxExclusive) && maxExclusive > 0)) {
      throw new RangeError(`int() needs a positive integer bound, got ${maxExclusive}`);
    }
    return Math.floor(this.float() * maxExclusive);
  }

  /** A new generator whose sequence depends only on this one's next draw: for independent streams. */
  fork(): SeededRandom {
    return new SeededRandom(this.next32());
  }
}
