/**
 * The data connection's framing: a byte stream of frames `[type: u8][length: u32 BE][payload]`.
 * Control frames (a request, a reply, the end of a byte stream) carry JSON; data frames carry
 * the bytes of a send stream as they came, without a copy: a frame's header is written beside
 * the chunk (`cork`), and on the reading side a data frame's payload is handed on in the slices
 * the socket delivered, however long the frame. That is the whole gain over gRPC's path
 * (protobuf encoding, 16 KiB HTTP/2 frames, a copy per frame): BENCHMARKS.md, "Data path".
 *
 * Flow control is the connection's own (TCP, or the pipes of an ssh child): a writer waits for
 * 'drain', a reader pauses its input while its consumer is not reading.
 */
import type { Readable, Writable } from 'node:stream';

export const FRAME = {
  /** JSON: `{ op, ... }`, from the client. */
  request: 1,
  /** JSON: `{ ok: true, value }` or `{ ok: false, code, details, class }`. */
  reply: 2,
  /** Bytes of a byte stream. */
  data: 3,
  /** JSON: `{ bytes }`, the byte stream is complete and had this many bytes. */
  end: 4,
  /** Empty: the server is alive, sent while a call runs (the client asks how often). */
  heartbeat: 5,
} as const;

export type FrameType = (typeof FRAME)[keyof typeof FRAME];

const HEADER_BYTES = 5;

/** A control frame's payload at most (listings of very large trees fit, as with gRPC). */
export const MAX_CONTROL_BYTES = 64 * 1024 * 1024;

/** A chunk longer than this is written as several data frames. */
export const MAX_DATA_FRAME_BYTES = 4 * 1024 * 1024;

/** The peer broke the framing: permanent, the same peer would do it again. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

export interface ChannelHandlers {
  /** A request, reply or end frame, parsed. */
  control(type: FrameType, value: unknown): void;
  /** A slice of a data frame's payload. */
  data(chunk: Buffer): void;
  /** The input ended (`err` undefined: cleanly, between frames) or failed. */
  closed(err: Error | undefined): void;
}

/**
 * One framed connection: `input` and `output` are the two directions (one socket, or an ssh
 * child's stdout and stdin). Handlers are swapped by whoever runs the current call.
 */
export class FrameChannel {
  handlers: ChannelHandlers | undefined;
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private type = 0;
  private remaining = 0;
  private control: Buffer[] = [];
  private done = false;
  /** Why the channel closed; set once. */
  closedWith: Error | 'ended' | undefined;
  private paused = false;
  private watch: { ms: number; dead: () => Error } | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  /** When the last bytes came (performance.now()): one timestamp a chunk, not a new timer. */
  private lastSeen = 0;

  constructor(
    readonly input: Readable,
    readonly output: Writable,
    private readonly destroyBoth: (err?: Error) => void,
  ) {
    input.on('data', this.onChunk);
    input.once('end', () => this.finish(undefined));
    input.once('error', (err) => this.finish(err));
    input.once('close', () => this.finish(undefined));
    output.once('error', (err) => this.finish(err));
    // A socket handed over paused (listener.ts) starts flowing here.
    input.resume();
  }

  get closed(): boolean {
    return this.done;
  }

  pause(): void {
    this.paused = true;
    this.input.pause();
    this.disarmWatch();
  }

  resume(): void {
    this.paused = false;
    if (this.done) return;
    this.input.resume();
    this.armWatch();
  }

  /**
   * While `watch` is set and the input is not paused by us, something (a frame, a heartbeat)
   * must arrive every `watch.ms`, or the connection is closed with `watch.dead()`: a peer
   * that stopped answering (frozen, a dead link) is found as gRPC's keepalive finds it.
   */
  expect(watch: { ms: number; dead: () => Error } | undefined): void {
    this.watch = watch;
    if (watch === undefined) this.disarmWatch();
    else this.armWatch();
  }

  private armWatch(): void {
    this.disarmWatch();
    if (this.watch === undefined || this.paused || this.done) return;
    this.lastSeen = performance.now();
    this.watchTimer = setTimeout(this.checkWatch, this.watch.ms);
  }

  private readonly checkWatch = (): void => {
    const watch = this.watch;
    if (watch === undefined) return;
    const left = watch.ms - (performance.now() - this.lastSeen);
    if (left >= 1) {
      this.watchTimer = setTimeout(this.checkWatch, left);
      return;
    }
    this.watchTimer = undefined;
    this.close(watch.dead());
  };

  private disarmWatch(): void {
    clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
  }

  /** Writes one frame; false when the output is full (wait for 'drain'). */
  write(type: FrameType, payload: Buffer): boolean {
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt8(type, 0);
    header.writeUInt32BE(payload.length, 1);
    this.output.cork();
    this.output.write(header);
    const more = this.output.write(payload);
    process.nextTick(() => this.output.uncork());
    return more;
  }

  writeJson(type: FrameType, value: unknown): boolean {
    return this.write(type, Buffer.from(JSON.stringify(value)));
  }

  /** Ends the connection: cleanly without `err`, at once with it. */
  close(err?: Error): void {
    if (err === undefined && !this.done) {
      this.output.end();
      return;
    }
    this.destroyBoth(err);
    this.finish(err);
  }

  private finish(err: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    const midFrame = this.headerFill > 0 || this.remaining > 0;
    const why =
      err ??
      (midFrame ? new ProtocolError('the connection ended in the middle of a frame') : undefined);
    this.closedWith = why ?? 'ended';
    this.disarmWatch();
    this.input.off('data', this.onChunk);
    this.handlers?.closed(why);
  }

  private readonly onChunk = (chunk: Buffer): void => {
    if (this.watchTimer !== undefined) this.lastSeen = performance.now();
    try {
      this.parse(chunk);
    } catch (err) {
      this.close(err as Error);
    }
  };

  private parse(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.done) {
      if (this.remaining === 0 && this.headerFill < HEADER_BYTES) {
        const take = Math.min(HEADER_BYTES - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < HEADER_BYTES) return;
        this.type = this.header.readUInt8(0);
        this.remaining = this.header.readUInt32BE(1);
        if (this.type < FRAME.request || this.type > FRAME.heartbeat) {
          throw new ProtocolError(`unknown frame type ${this.type}`);
        }
        if (this.type !== FRAME.data && this.remaining > MAX_CONTROL_BYTES) {
          throw new ProtocolError(`a control frame of ${this.remaining} bytes`);
        }
        if (this.remaining === 0) this.frameDone();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      const piece = chunk.subarray(offset, offset + take);
      offset += take;
      this.remaining -= take;
      if (this.type === FRAME.data) this.handlers?.data(piece);
      else this.control.push(piece);
      if (this.remaining === 0) this.frameDone();
    }
  }

  private frameDone(): void {
    this.headerFill = 0;
    if (this.type === FRAME.data) return;
    if (this.type === FRAME.heartbeat) {
      this.control = [];
      return;
    }
    const text = Buffer.concat(this.control).toString('utf8');
    this.control = [];
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ProtocolError('a control frame that is not JSON');
    }
    const handlers = this.handlers;
    if (handlers === undefined) throw new ProtocolError(`an unexpected frame (type ${this.type})`);
    handlers.control(this.type as FrameType, value);
  }
}
