/**
 * Deterministic uint64 generator for snapshot guids: splitmix64 over BigInt, seeded from a
 * string or number (FNV-1a 64). Guids are decimal strings, never JS numbers (2^64).
 */

const MASK = (1n << 64n) - 1n;

/** FNV-1a 64 of the seed's string form: any seed becomes a 64-bit state. */
function hashSeed(seed: string | number): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(String(seed), 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & MASK;
  }
  return h;
}

/** A splitmix64 stream; `state` can be saved and restored (fixtures do). */
export class GuidGenerator {
  private state: bigint;

  constructor(seed: string | number, state?: bigint) {
    this.state = state ?? hashSeed(seed);
  }

  /** The internal state, to resume the same sequence later. */
  get currentState(): bigint {
    return this.state;
  }

  /** The next non-zero uint64, as a decimal string. */
  next(): string {
    for (;;) {
      this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK;
      let z = this.state;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
      z ^= z >> 31n;
      if (z !== 0n) return z.toString();
    }
  }
}
