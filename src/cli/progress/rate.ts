/** Transfer rates from successive byte counts: bytes per second over a sliding window. */

interface Sample {
  at: number;
  bytes: number;
}

/** One counter's rate; a count that goes down (a new attempt) starts afresh. */
export class Rate {
  private samples: Sample[] = [];

  constructor(private readonly windowMs = 2000) {}

  /** Records `bytes` at time `at` (ms) and returns the rate over the window, bytes/s. */
  add(at: number, bytes: number): number {
    const last = this.samples.at(-1);
    if (last !== undefined && bytes < last.bytes) this.samples = [];
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - (this.samples[1] as Sample).at >= this.windowMs) {
      this.samples.shift();
    }
    const first = this.samples[0] as Sample;
    const dt = at - first.at;
    return dt > 0 ? ((bytes - first.bytes) * 1000) / dt : 0;
  }
}

/** Rates of many counters by key (one per filesystem and one total); forgets keys not seen. */
export class Rates {
  private rates = new Map<string, Rate>();

  constructor(private readonly windowMs = 2000) {}

  /** Samples every `counts` entry at `at`; returns the rates by key. */
  sample(at: number, counts: ReadonlyMap<string, number>): Map<string, number> {
    const next = new Map<string, Rate>();
    const result = new Map<string, number>();
    for (const [key, bytes] of counts) {
      const rate = this.rates.get(key) ?? new Rate(this.windowMs);
      next.set(key, rate);
      result.set(key, rate.add(at, bytes));
    }
    this.rates = next;
    return result;
  }
}
