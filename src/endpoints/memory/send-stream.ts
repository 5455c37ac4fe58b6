/**
 * The Readable of a simulated `zfs send`: header, then payload chunks generated lazily as the
 * consumer reads (backpressure: a 2 GB stream never sits in memory). Faults of the sending
 * endpoint apply: throttle (per chunk), fail after N bytes, a connection drop. Aborting the
 * send's signal destroys the stream. Timers and listeners end with the stream.
 */
import { Readable } from 'node:stream';
import type { Faults } from './faults.js';
import { onAbort } from './timers.js';
import {
  CHUNK_SIZE,
  encodeHeader,
  payloadBytes,
  payloadPattern,
  type StreamHeader,
} from './stream-format.js';

/** An unthrottled stream lets the event loop run once per this many chunks (4 MiB, about 1-2 ms). */
const YIELD_EVERY_CHUNKS = 64;

class SendStream extends Readable {
  private readonly header: Buffer;
  private readonly pattern: Buffer;
  private headerSent = false;
  /** Next payload position (absolute, so a resumed stream starts at its offset). */
  private position: number;
  private sent = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private chunksSinceYield = 0;
  private readonly failure: { bytes: number; error: () => Error } | undefined;
  /** Bytes after which the stream stops sending, staying open (Faults.stallAfterBytes). */
  private readonly stall: number | undefined;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly meta: StreamHeader,
    private readonly faults: Faults,
    signal: AbortSignal,
  ) {
    super({ highWaterMark: CHUNK_SIZE });
    this.header = encodeHeader(meta);
    this.pattern = payloadPattern(meta.toGuid);
    this.position = meta.offset;
    this.failure = faults.takeStreamFailure(meta.fs);
    this.stall = faults.takeStreamStall(meta.fs);
    this.cleanups.push(
      onAbort(signal, (reason) =>
        this.destroy(reason instanceof Error ? reason : new Error(String(reason))),
      ),
      faults.onDrop((err) => this.destroy(err)),
    );
  }

  override _read(): void {
    if (this.failure && this.sent >= this.failure.bytes) {
      this.destroy(this.failure.error());
      return;
    }
    // Stalled: push nothing, so _read is not called again; only destroy() ends the stream.
    if (this.stall !== undefined && this.sent >= this.stall) return;
    let chunk = this.nextChunk();
    if (chunk === null) {
      this.push(null);
      return;
    }
    if (this.failure && this.sent + chunk.length > this.failure.bytes) {
      chunk = chunk.subarray(0, this.failure.bytes - this.sent);
    }
    if (this.stall !== undefined && this.sent + chunk.length > this.stall) {
      chunk = chunk.subarray(0, Math.max(0, this.stall - this.sent));
    }
    this.advance(chunk.length);
    const throttle = this.faults.throttleBytesPerSecond;
    if (throttle > 0) {
      // Readable calls _read again only after this push: the chunk's own transfer time paces it.
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.push(chunk);
        },
        (chunk.length / throttle) * 1000,
      );
    } else if (++this.chunksSinceYield >= YIELD_EVERY_CHUNKS) {
      // Without this a fast consumer keeps the stream in nextTick callbacks: timers (progress,
      // deadlines) would starve until the whole stream has gone through.
      this.chunksSinceYield = 0;
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.push(chunk);
      });
    } else {
      this.push(chunk);
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    callback(err);
  }

  private nextChunk(): Buffer | null {
    if (!this.headerSent) return this.header;
    const remaining = this.meta.payloadSize - this.position;
    if (remaining <= 0) return null;
    const throttle = this.faults.throttleBytesPerSecond;
    // Throttled streams send about ten chunks a second, so progress stays smooth.
    const size =
      throttle > 0 ? Math.max(1, Math.min(CHUNK_SIZE, Math.floor(throttle / 10))) : CHUNK_SIZE;
    return payloadBytes(this.pattern, this.position, Math.min(size, remaining));
  }

  private advance(length: number): void {
    this.sent += length;
    if (this.headerSent) {
      this.position += length;
    } else {
      // A cut inside the header leaves the rest of it unsent: the stream is broken anyway.
      this.headerSent = true;
    }
  }
}

/** A send stream with `header`, subject to `faults`, destroyed when `signal` aborts. */
export function createSendStream(
  header: StreamHeader,
  faults: Faults,
  signal: AbortSignal,
): Readable {
  return new SendStream(header, faults, signal);
}
