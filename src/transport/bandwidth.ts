/**
 * A bandwidth limit for a run (`replicate --bandwidth 50MiB`, and the jobs' config): one token
 * bucket shared by every stream of the run, applied to the sender's streams, so whatever the
 * transport the bytes leave at most at the rate. The clock and the timer are injectable; the
 * tests drive them by hand.
 *
 * @example
 * const bucket = new TokenBucket({ bytesPerSecond: parseBandwidth('50MiB') });
 * const planner = createPlanner(limitSender(sender, bucket), receiver);
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { Sender } from '../endpoints/types.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/**
 * Bytes per second from `50MiB`, `800KiB`, `1.5GB`, `100000` (per second, `/s` optional).
 * Throws a clear error for anything else or a rate below 1 KiB/s.
 */
export function parseBandwidth(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*(?:\/s)?\s*$/i.exec(text);
  const unit = UNITS[(match?.[2] ?? '?').toLowerCase()];
  if (match === null || unit === undefined) {
    throw new Error(
      `invalid bandwidth ${JSON.stringify(text)}: a rate per second like 50MiB, 800KiB or 1GB`,
    );
  }
  const rate = Math.floor(Number(match[1]) * unit);
  if (rate < 1024) throw new Error(`bandwidth ${JSON.stringify(text)} is below 1 KiB/s`);
  return rate;
}

export interface TokenBucketOptions {
  bytesPerSecond: number;
  /** The most that may go at once after an idle spell (default: a tenth of a second's worth, at least 64 KiB). */
  burstBytes?: number;
  /** Milliseconds, monotonic (default `performance.now`). */
  now?: () => number;
  /** Calls `fn` after `ms` (default `setTimeout`); returns the cancel. */
  setTimer?: (fn: () => void, ms: number) => () => void;
}

/** Tokens are bytes; they refill at the rate, up to the burst. */
export class TokenBucket {
  readonly bytesPerSecond: number;
  readonly burstBytes: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;
  readonly setTimer: (fn: () => void, ms: number) => () => void;

  constructor(options: TokenBucketOptions) {
    if (!(options.bytesPerSecond > 0)) throw new Error('a bandwidth limit must be positive');
    this.bytesPerSecond = options.bytesPerSecond;
    this.burstBytes =
      options.burstBytes ?? Math.max(64 * 1024, Math.floor(options.bytesPerSecond / 10));
    this.now = options.now ?? (() => performance.now());
    this.setTimer =
      options.setTimer ??
      ((fn, ms) => {
        const timer = setTimeout(fn, ms);
        return () => clearTimeout(timer);
      });
    this.tokens = this.burstBytes;
    this.last = this.now();
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(
      this.burstBytes,
      this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000,
    );
    this.last = now;
  }

  /**
   * Takes `bytes` (at most the burst at a time): 0 when they may go now, else the
   * milliseconds to wait before asking again.
   */
  take(bytes: number): number {
    this.refill();
    const want = Math.min(bytes, this.burstBytes);
    if (this.tokens >= want) {
      this.tokens -= want;
      return 0;
    }
    return Math.ceil(((want - this.tokens) * 1000) / this.bytesPerSecond);
  }
}

/** A pass-through stream that lets bytes go as `bucket` allows (pieces of at most its burst). */
export function throttle(bucket: TokenBucket): Transform {
  let cancel: (() => void) | undefined;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      let offset = 0;
      const next = (): void => {
        cancel = undefined;
        while (offset < chunk.length) {
          const piece = Math.min(chunk.length - offset, bucket.burstBytes);
          const wait = bucket.take(piece);
          if (wait > 0) {
            cancel = bucket.setTimer(next, wait);
            return;
          }
          transform.push(chunk.subarray(offset, offset + piece));
          offset += piece;
        }
        callback();
      };
      next();
    },
    destroy(err, callback) {
      cancel?.();
      callback(err);
    },
  });
  return transform;
}

/** `sender` whose send streams go through `bucket` (one bucket for all of a run's streams). */
export function limitSender(sender: Sender, bucket: TokenBucket): Sender {
  return {
    listFilesystems: (signal) => sender.listFilesystems(signal),
    listFilesystemVersions: (fs, signal) => sender.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => sender.waitForConnectivity(signal),
    sendDry: (req, signal) => sender.sendDry(req, signal),
    sendCompleted: (req, signal) => sender.sendCompleted(req, signal),
    async send(req, signal) {
      const { usedResumeToken, stream } = await sender.send(req, signal);
      const limited = throttle(bucket);
      stream.once('error', (err) => limited.destroy(err));
      limited.once('close', () => stream.destroy());
      stream.pipe(limited);
      return { usedResumeToken, stream: limited };
    },
  };
}
