/**
 * Calls and byte streams over a FrameChannel, for both ends: the `Inbox` hands control frames
 * to whoever awaits the next one, or all frames to the byte stream being received;
 * `FrameInbound` is a byte stream received (complete only with its `end` frame and the right
 * count: a stream cut short is never taken as complete); `pumpFrames` sends one.
 */
import { Readable } from 'node:stream';
import { drained, reasonOf, Watchdog } from '../streams.js';
import {
  FRAME,
  MAX_DATA_FRAME_BYTES,
  ProtocolError,
  type FrameChannel,
  type FrameType,
} from './channel.js';

export interface Frame {
  type: FrameType;
  value: unknown;
}

/** Who takes every frame while a byte stream is being received. */
export interface FrameSink {
  data(chunk: Buffer): void;
  control(frame: Frame): void;
  closed(err: Error | undefined): void;
}

/** A call's connection ended under it; `cause` is why (undefined: it just closed). */
export class ConnectionLost extends Error {
  override readonly name = 'ConnectionLost';
  constructor(override readonly cause: Error | undefined) {
    super(cause === undefined ? 'the connection was closed' : cause.message, { cause });
  }
}

/** Error of a channel that closed while a call waited on it. */
export function closedError(err: Error | undefined): Error {
  return new ConnectionLost(err);
}

export class Inbox {
  /** Frames that arrive now are dropped (after a failed receive, until the connection ends). */
  discarding = false;
  private current: FrameSink | undefined;
  /** Frames that came before anyone took them, in order (a stream's first data, say). */
  private readonly queue: (Frame | Buffer)[] = [];
  private queuedBytes = 0;
  private waiter: { resolve(frame: Frame): void; reject(err: unknown): void } | undefined;
  private closedWith: { err: Error | undefined } | undefined;
  private readonly closeListeners = new Set<() => void>();

  constructor(readonly channel: FrameChannel) {
    channel.handlers = {
      control: (type, value) => {
        if (this.discarding) return;
        if (this.current !== undefined) return this.current.control({ type, value });
        if (this.waiter !== undefined && this.queue.length === 0) {
          const { resolve } = this.waiter;
          this.waiter = undefined;
          return resolve({ type, value });
        }
        this.queue.push({ type, value });
      },
      data: (chunk) => {
        if (this.discarding) return;
        if (this.current !== undefined) return this.current.data(chunk);
        // Data right behind its request: kept until the stream's sink is attached.
        this.queue.push(chunk);
        this.queuedBytes += chunk.length;
        if (this.queuedBytes > 1024 * 1024) channel.pause();
      },
      closed: (err) => {
        this.closedWith = { err };
        for (const listener of this.closeListeners) listener();
        this.current?.closed(err);
        const waiter = this.waiter;
        this.waiter = undefined;
        waiter?.reject(closedError(err));
      },
    };
  }

  get sink(): FrameSink | undefined {
    return this.current;
  }

  /** Hands every frame to `sink` from now on (first those that came before); undefined: stop. */
  attach(sink: FrameSink | undefined): void {
    this.current = sink;
    if (sink === undefined) return;
    while (this.queue.length > 0 && this.current === sink) {
      const item = this.queue.shift() as Frame | Buffer;
      if (Buffer.isBuffer(item)) {
        this.queuedBytes -= item.length;
        sink.data(item);
      } else {
        sink.control(item);
      }
    }
    if (this.current === sink && this.closedWith !== undefined) sink.closed(this.closedWith.err);
  }

  /** Calls `listener` when the channel closes (at once if it has); returns the unsubscribe. */
  onClose(listener: () => void): () => void {
    if (this.closedWith !== undefined) {
      listener();
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** The next control frame; rejects when the channel closes, `signal` aborts or time runs out. */
  next(signal: AbortSignal, timeout?: { ms: number; error: () => Error }): Promise<Frame> {
    const queued = this.queue[0];
    if (Buffer.isBuffer(queued)) {
      return Promise.reject(new ProtocolError('stream data outside a stream'));
    }
    if (queued !== undefined) {
      this.queue.shift();
      return Promise.resolve(queued);
    }
    if (this.closedWith !== undefined) return Promise.reject(closedError(this.closedWith.err));
    return new Promise((resolve, reject) => {
      const timer =
        timeout === undefined ? undefined : setTimeout(() => done(timeout.error()), timeout.ms);
      const onAbort = (): void => done(reasonOf(signal));
      const done = (err: unknown, frame?: Frame): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        if (frame !== undefined) resolve(frame);
        else reject(err);
      };
      this.waiter = { resolve: (frame) => done(undefined, frame), reject: (err) => done(err) };
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
    });
  }
}

export interface InboundOptions {
  /** No data for this long while the consumer waits for some: the peer stalled. */
  idleMs: number;
  stalled(): Error;
  /** A control frame other than `end` in the middle of the stream (the peer's error). */
  interrupted(frame: Frame): Error;
  /** The connection ended before the stream's `end` frame. */
  cutShort(err: Error | undefined, bytes: number): Error;
  /**
   * Destroyed before its end: `close` the connection (the peer is sending and must stop), or
   * `discard` what still comes (the server answers first, then ends the connection).
   */
  abandon: 'close' | 'discard';
}

/**
 * A byte stream arriving on `inbox`'s channel. Destroying it before its end closes the
 * connection (nothing else can tell the peer to stop).
 */
export class FrameInbound extends Readable {
  bytes = 0;
  complete = false;
  private readonly watchdog: Watchdog;
  private dataSeen: { promise: Promise<void>; resolve(): void; reject(err: unknown): void };

  constructor(
    private readonly inbox: Inbox,
    private readonly options: InboundOptions,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    let settle!: { resolve(): void; reject(err: unknown): void };
    const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    promise.catch(() => undefined);
    this.dataSeen = { promise, ...settle };
    this.on('error', () => undefined);
    this.watchdog = new Watchdog(options.idleMs, () => this.destroy(options.stalled()));
    inbox.attach({
      data: (chunk) => {
        this.bytes += chunk.length;
        this.dataSeen.resolve();
        if (!this.push(chunk)) {
          this.watchdog.disarm();
          inbox.channel.pause();
        } else {
          this.watchdog.arm();
        }
      },
      control: (frame) => {
        if (frame.type !== FRAME.end) return void this.destroy(options.interrupted(frame));
        const sent = (frame.value as { bytes?: unknown } | null)?.bytes;
        if (sent !== this.bytes) {
          return void this.destroy(
            new ProtocolError(
              `the stream ended after ${this.bytes} bytes, the peer sent ${String(sent)}`,
            ),
          );
        }
        this.complete = true;
        this.watchdog.disarm();
        inbox.attach(undefined);
        this.dataSeen.resolve();
        this.push(null);
      },
      closed: (err) => this.destroy(options.cutShort(err, this.bytes)),
    });
  }

  /** Resolves with the first bytes or the end; rejects if the stream fails first. */
  awaitData(): Promise<void> {
    return this.dataSeen.promise;
  }

  override _read(): void {
    if (this.complete) return;
    this.watchdog.arm();
    this.inbox.channel.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.watchdog.disarm();
    this.dataSeen.reject(err ?? new Error('the stream was closed'));
    if (!this.complete) {
      this.inbox.attach(undefined);
      if (this.options.abandon === 'close') {
        this.inbox.channel.close(err ?? new Error('the stream was closed before its end'));
      } else {
        this.inbox.discarding = true;
        this.inbox.channel.resume();
      }
    }
    callback(err);
  }
}

export interface PumpOptions {
  signal: AbortSignal;
  idleMs: number;
  stalled(): Error;
}

/**
 * Sends every byte of `source` as data frames, then the `end` frame; resolves with the count.
 * Reads with 'data' events, not an async iterator, which would concatenate (copy) whatever
 * the source has buffered on each read.
 */
export function pumpFrames(
  source: Readable,
  channel: FrameChannel,
  options: PumpOptions,
): Promise<number> {
  const { signal } = options;
  signal.throwIfAborted();
  const drainOptions = { signal, idleTimeoutMs: options.idleMs, stalled: options.stalled };
  return new Promise<number>((resolve, reject) => {
    let bytes = 0;
    let finished = false;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      source.off('data', onData);
      source.off('end', onEnd);
      // A late error (the source's own abort, say) is ours no more but must not go uncaught.
      source.on('error', () => undefined);
      source.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) return resolve(bytes);
      source.destroy();
      reject(signal.aborted ? reasonOf(signal) : err);
    };
    const onData = (chunk: unknown): void => {
      if (!(chunk instanceof Uint8Array)) {
        return finish(new Error('a byte stream yielded a non-binary chunk'));
      }
      const buffer = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let more = true;
      for (let offset = 0; offset < buffer.length; offset += MAX_DATA_FRAME_BYTES) {
        const piece = buffer.subarray(offset, offset + MAX_DATA_FRAME_BYTES);
        bytes += piece.length;
        more = channel.write(FRAME.data, piece) && more;
      }
      if (!more) {
        source.pause();
        drained(channel.output, drainOptions).then(() => {
          if (!finished) source.resume();
        }, finish);
      }
    };
    const onEnd = (): void => {
      channel.writeJson(FRAME.end, { bytes });
      finish();
    };
    const onError = (err: unknown): void => finish(err);
    const onAbort = (): void => finish(reasonOf(signal));
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
