/**
 * Byte streams over gRPC message streams, with flow control both ways: a stream is cut into
 * chunks of at most MAX_CHUNK_BYTES, a writer waits for 'drain' before writing more, and a
 * reader pauses the call while its consumer is not reading (grpc-js then stops reading, and
 * HTTP/2 flow control holds the peer back). Memory stays bounded on a stream of any length.
 *
 * A stalled peer is caught by an idle watchdog that runs only while we wait on the network:
 * a slow consumer on our side never counts against the peer.
 */
import { Readable, type Writable } from 'node:stream';
import { MAX_CHUNK_BYTES } from './wire.js';

/** The abort reason of `signal` as an Error. */
export function reasonOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason));
}

/**
 * Calls `onIdle` when armed for `ms` without being disarmed; re-armable. Re-arming is cheap (a
 * timestamp, not a new timer): streams re-arm it for every chunk, tens of thousands of times a
 * GiB. The one timer, when it fires early because of a later re-arm, waits out the rest.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private armedAt = 0;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {}

  arm(): void {
    this.armedAt = performance.now();
    this.timer ??= setTimeout(this.check, this.ms);
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly check = (): void => {
    const left = this.ms - (performance.now() - this.armedAt);
    if (left >= 1) {
      this.timer = setTimeout(this.check, left);
      return;
    }
    this.timer = undefined;
    this.onIdle();
  };
}

/** `bytes` as a Buffer without copying (protobufjs decodes `bytes` fields as Buffers in Node). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `chunk` as pieces of at most MAX_CHUNK_BYTES (views, not copies). */
export function* pieces(chunk: Uint8Array): Generator<Buffer> {
  const buffer = asBuffer(chunk);
  for (let offset = 0; offset < buffer.length; offset += MAX_CHUNK_BYTES) {
    yield buffer.subarray(offset, offset + MAX_CHUNK_BYTES);
  }
}

/** One parsed message of a stream whose first message is a header and the rest chunks. */
export type Inbound<H> = { header: H } | { chunk: Buffer };

/** The receiving end of a call's message stream. */
export interface MessageSource {
  readonly stream: Readable;
  /** Ends the call (client: cancel; server: nothing more is read). */
  cancel(): void;
}

export interface InboundOptions<H> {
  /** Validates one message; throws a clear error for anything else. */
  parse(message: unknown): Inbound<H>;
  /** No message for this long while we wait for one: the peer stalled. */
  idleTimeoutMs: number;
  /** The error of a stall. */
  stalled(): Error;
  /** The error of a failed call (the stream's 'error'). */
  failed(err: unknown): unknown;
}

/**
 * The bytes of a header-then-chunks message stream. `header` settles with the first message;
 * destroying the stream cancels the call. Backpressure: the call is paused while the buffer is
 * full, and only a wanted read arms the idle watchdog.
 */
export class InboundStream<H> extends Readable {
  readonly header: Promise<H>;
  private resolveHeader!: (header: H) => void;
  private rejectHeader!: (err: unknown) => void;
  private gotHeader = false;
  /** The consumer asked for data that has not come yet. */
  private wanted = false;
  private ended = false;
  private readonly watchdog: Watchdog;
  /** Settles `awaitData()`: the first chunk after the header, or the end. */
  private data: { promise: Promise<void>; resolve(): void; reject(err: unknown): void } | undefined;

  constructor(
    private readonly source: MessageSource,
    private readonly options: InboundOptions<H>,
  ) {
    super({ highWaterMark: MAX_CHUNK_BYTES });
    this.header = new Promise<H>((resolve, reject) => {
      this.resolveHeader = resolve;
      this.rejectHeader = reject;
    });
    // Whoever awaits the header sees its failure, and the stream's reader the stream's error;
    // before either listens, neither may be an unhandled rejection or an uncaught 'error'.
    this.header.catch(() => undefined);
    this.on('error', () => undefined);
    this.watchdog = new Watchdog(options.idleTimeoutMs, () => this.destroy(this.options.stalled()));
    this.watchdog.arm();
    const { stream } = source;
    stream.on('data', this.onMessage);
    stream.once('end', this.onEnd);
    stream.once('error', this.onError);
  }

  /**
   * Resolves once the first bytes after the header are buffered or the stream has ended, so
   * that a consumer that is costly to start (a `zfs recv`) starts only when there is data for
   * it; rejects if the stream is destroyed first. Reads ahead at most one buffer.
   */
  awaitData(): Promise<void> {
    if (this.data === undefined) {
      let settle!: { resolve(): void; reject(err: unknown): void };
      const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      promise.catch(() => undefined);
      this.data = { promise, ...settle };
      if (this.destroyed) settle.reject(this.errored ?? new Error('the stream was closed'));
      else if (this.ended || this.readableLength > 0) settle.resolve();
      else
        void this.header.then(
          () => this.source.stream.resume(),
          () => undefined,
        );
    }
    return this.data.promise;
  }

  override _read(): void {
    this.wanted = true;
    if (this.ended || !this.gotHeader) return;
    this.watchdog.arm();
    this.source.stream.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.watchdog.disarm();
    const { stream } = this.source;
    stream.off('data', this.onMessage);
    stream.off('end', this.onEnd);
    // A late 'error' (the cancel below) must not become an uncaught one.
    stream.off('error', this.onError);
    stream.on('error', () => undefined);
    if (!this.ended) this.source.cancel();
    this.rejectHeader(err ?? new Error('the stream was closed before its header arrived'));
    this.data?.reject(err ?? new Error('the stream was closed before its data arrived'));
    callback(err);
  }

  private readonly onMessage = (message: unknown): void => {
    let parsed: Inbound<H>;
    try {
      parsed = this.options.parse(message);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if ('header' in parsed) {
      if (this.gotHeader) {
        this.destroy(new Error('protocol error: a second stream header'));
        return;
      }
      this.gotHeader = true;
      this.watchdog.disarm();
      // Nothing is read past the header until the consumer asks.
      if (this.wanted) this.watchdog.arm();
      else this.source.stream.pause();
      this.resolveHeader(parsed.header);
      return;
    }
    if (!this.gotHeader) {
      this.destroy(new Error('protocol error: a chunk before the stream header'));
      return;
    }
    const pushed = this.push(parsed.chunk);
    this.data?.resolve();
    if (pushed) {
      this.watchdog.arm();
    } else {
      this.wanted = false;
      this.watchdog.disarm();
      this.source.stream.pause();
    }
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.watchdog.disarm();
    if (!this.gotHeader) {
      this.destroy(new Error('protocol error: the stream ended before its header'));
      return;
    }
    this.push(null);
    this.data?.resolve();
  };

  private readonly onError = (err: unknown): void => {
    this.ended = true;
    const failure = this.options.failed(err);
    this.destroy(failure instanceof Error ? failure : new Error(String(failure)));
  };
}

export interface OutboundOptions {
  /** Aborts the writing: our caller's cancel, or the call failing under us. */
  signal: AbortSignal;
  /** Waiting this long for 'drain' means the peer stopped reading. */
  idleTimeoutMs: number;
  /** The error of a stall. */
  stalled(): Error;
}

/** Resolves on 'drain'; rejects on abort or when the peer does not read for the idle timeout. */
export function drained(sink: Writable, options: OutboundOptions): Promise<void> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    const done = (err?: unknown): void => {
      clearTimeout(timer);
      sink.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onDrain = (): void => done();
    const onAbort = (): void => done(signal.reason);
    const timer = setTimeout(() => done(options.stalled()), options.idleTimeoutMs);
    sink.on('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}

/**
 * Writes every chunk of `source` into `sink` as `wrap(piece)` messages, waiting for 'drain'
 * whenever the sink is full. Does not end the sink. Rejects with the source's error, the
 * signal's reason, or a stall.
 */
export async function writeChunks(
  source: AsyncIterable<unknown>,
  sink: Writable,
  wrap: (piece: Buffer) => unknown,
  options: OutboundOptions,
): Promise<number> {
  let bytes = 0;
  const { signal } = options;
  signal.throwIfAborted();
  // An abort must also end a wait for the source's next chunk.
  const stop = (): void => {
    if (source instanceof Readable) source.destroy(reasonOf(signal));
  };
  signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const chunk of source) {
      if (!(chunk instanceof Uint8Array))
        throw new Error('a byte stream yielded a non-binary chunk');
      for (const piece of pieces(chunk)) {
        signal.throwIfAborted();
        bytes += piece.length;
        if (!sink.write(wrap(piece))) await drained(sink, options);
      }
    }
  } catch (err) {
    signal.throwIfAborted();
    throw err;
  } finally {
    signal.removeEventListener('abort', stop);
  }
  return bytes;
}

/** Writes one message, waiting for 'drain' if the sink is full. */
export async function writeMessage(
  sink: Writable,
  message: unknown,
  options: OutboundOptions,
): Promise<void> {
  options.signal.throwIfAborted();
  if (!sink.write(message)) await drained(sink, options);
}
