/**
 * The calling end of data connections: each call takes an idle connection or dials a new one,
 * and gives it back once its reply (and for a send, its whole stream) has come. A failed
 * connection is never reused. Errors come back as the gRPC client's do (errors.ts): the
 * endpoint's error with its class, a lost connection as a temporary UNAVAILABLE, a stall as a
 * network timeout, so the driver's retries (D2, D9) work the same on every transport.
 */
import type { Readable } from 'node:stream';
import type { ReceiveReq, SendReq } from '../../endpoints/types.js';
import { fromWireStatus, GrpcTimeoutError, type WireStatus } from '../errors.js';
import { reasonOf } from '../streams.js';
import { receiveHeaderToWire, sendRequestToWire } from '../wire.js';
import { FRAME, ProtocolError, type FrameChannel } from './channel.js';
import { ConnectionLost, FrameInbound, Inbox, pumpFrames, type Frame } from './streams.js';

/** A connection opened for calls, and how to explain its failure. */
export interface Dialed {
  channel: FrameChannel;
  /**
   * The error a call gets when the connection failed under it (`err` undefined: it just
   * closed); e.g. a TLS certificate failure, or what ssh said before it exited.
   */
  explain(err: Error | undefined, what: string): unknown;
}

export interface DataClientOptions {
  /** Names the server in messages, e.g. `grpc://host:7000`. */
  address: string;
  dial(signal: AbortSignal): Promise<Dialed>;
  /** A reply that takes longer than this fails (unary calls). */
  callTimeoutMs: number;
  /** A stream with no progress for this long fails. */
  idleMs: number;
  /** Called with every error that ends a call, before it is thrown (liveness). */
  failed?(err: unknown): void;
  /** Called when the server answered. */
  answered?(): void;
  /** Idle connections kept for the next calls (default 4). */
  keepIdle?: number;
  /**
   * While a call runs the server sends a heartbeat every `timeMs`; none for `timeMs +
   * timeoutMs` while we wait on it and the connection is lost (as gRPC's keepalive).
   */
  keepalive?: { timeMs: number; timeoutMs: number };
}

/** Why `session`'s channel closed, if it did with an error. */
function channelError(session: Session): Error | undefined {
  const why = session.inbox.channel.closedWith;
  return why instanceof Error ? why : undefined;
}

interface Session {
  inbox: Inbox;
  dialed: Dialed;
}

type Reply = { ok: true; value: unknown } | ({ ok: false } & WireStatus);

function isReply(value: unknown): value is Reply {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.ok === true || (v.ok === false && typeof v.code === 'number' && typeof v.details === 'string')
  );
}

export class DataClient {
  private readonly idle: Session[] = [];
  private readonly open = new Set<Session>();
  private closed = false;

  constructor(private readonly options: DataClientOptions) {}

  /** One request and its reply's value (unvalidated: the caller parses it). */
  async call(op: string, req: unknown, signal: AbortSignal): Promise<unknown> {
    const session = await this.session(op, signal);
    try {
      this.request(session, op, req);
      const value = await this.reply(session, op, signal, {
        ms: this.options.callTimeoutMs,
        error: () =>
          new GrpcTimeoutError(`${this.options.address}: ${op}: no answer before the deadline`),
      });
      this.release(session);
      return value;
    } catch (err) {
      throw await this.failed(session, err, op, signal);
    }
  }

  /** Starts a send; the stream yields its bytes and ends only with the server's end frame. */
  async send(
    req: SendReq,
    signal: AbortSignal,
  ): Promise<{ usedResumeToken: boolean; stream: Readable }> {
    const session = await this.session('send', signal);
    let header: unknown;
    try {
      this.request(session, 'send', sendRequestToWire(req));
      header = await this.reply(session, 'send', signal, {
        ms: this.options.idleMs,
        error: () => this.stalled('send'),
      });
    } catch (err) {
      throw await this.failed(session, err, 'send', signal);
    }
    const usedResumeToken = (header as { usedResumeToken?: unknown } | null)?.usedResumeToken;
    if (typeof usedResumeToken !== 'boolean') {
      const err = new ProtocolError(`${this.options.address}: invalid send response`);
      throw await this.failed(session, err, 'send', signal);
    }
    const stream = new FrameInbound(session.inbox, {
      idleMs: this.options.idleMs,
      stalled: () => this.stalled('send'),
      interrupted: (frame) => this.replyError(frame, 'send'),
      cutShort: (err) => {
        const explained = session.dialed.explain(err, 'send');
        this.options.failed?.(explained);
        return explained instanceof Error ? explained : new Error(String(explained));
      },
      abandon: 'close',
    });
    const onAbort = (): void => void stream.destroy(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    const finished = (): void => {
      signal.removeEventListener('abort', onAbort);
      if (stream.complete) {
        this.options.answered?.();
        this.release(session);
      } else {
        this.discard(session);
      }
    };
    stream.once('end', finished);
    stream.once('close', finished);
    return { usedResumeToken, stream };
  }

  /** Sends `stream` to be received; resolves once the server has applied it. */
  async receive(req: ReceiveReq, stream: Readable, signal: AbortSignal): Promise<void> {
    let session: Session;
    try {
      session = await this.session('receive', signal);
    } catch (err) {
      stream.destroy();
      throw err;
    }
    const { channel } = session.inbox;
    const pumping = new AbortController();
    const both = AbortSignal.any([signal, pumping.signal]);
    // The server may answer before the stream is through: a refusal, or a failed receive.
    let answer: unknown;
    const replied = this.reply(session, 'receive', signal);
    replied.then(
      () => undefined,
      (err: unknown) => {
        answer = err;
        pumping.abort(err);
      },
    );
    const unsubscribe = session.inbox.onClose(() =>
      pumping.abort(new ConnectionLost(channelError(session))),
    );
    try {
      this.request(session, 'receive', receiveHeaderToWire(req));
      await pumpFrames(stream, channel, {
        signal: both,
        idleMs: this.options.idleMs,
        stalled: () => this.stalled('receive'),
      });
      await this.bounded(replied, 'receive', signal);
      this.options.answered?.();
      this.release(session);
    } catch (err) {
      stream.destroy();
      // The server's answer explains best, if it gave one.
      throw await this.failed(session, answer ?? err, 'receive', signal);
    } finally {
      unsubscribe();
    }
  }

  /**
   * Closes every connection; calls after this fail. Idle connections end cleanly (their
   * input closed, so the serving end stops as after a finished session), running ones at
   * once. Resolves when every connection has closed, or after `graceMs`, forcing them.
   */
  close(graceMs = 5_000): Promise<void> {
    this.closed = true;
    const idle = new Set(this.idle);
    this.idle.length = 0;
    const sessions = [...this.open];
    this.open.clear();
    const ended = sessions.map(
      (session) => new Promise<void>((resolve) => session.inbox.onClose(resolve)),
    );
    for (const session of sessions) {
      if (idle.has(session)) session.inbox.channel.close();
      else session.inbox.channel.close(new Error('the client closed'));
    }
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      Promise.all(ended).then(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const session of sessions)
            session.inbox.channel.close(new Error('the client closed'));
          resolve();
        }, graceMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Writes the request of `op` and watches the connection until the call ends. */
  private request(session: Session, op: string, req: unknown): void {
    const keepalive = this.options.keepalive;
    const { channel } = session.inbox;
    if (keepalive !== undefined) {
      const ms = keepalive.timeMs + keepalive.timeoutMs;
      channel.expect({
        ms,
        dead: () => new Error(`no heartbeat from the server for ${ms} ms`),
      });
    }
    channel.writeJson(FRAME.request, {
      op,
      req,
      ...(keepalive !== undefined && { keepaliveMs: keepalive.timeMs }),
    });
  }

  private stalled(what: string): Error {
    return new GrpcTimeoutError(
      `${this.options.address}: ${what}: no progress for ${this.options.idleMs} ms (the peer stalled)`,
    );
  }

  private async session(what: string, signal: AbortSignal): Promise<Session> {
    signal.throwIfAborted();
    if (this.closed) throw new Error(`${this.options.address}: the client endpoint was closed`);
    for (let s = this.idle.pop(); s !== undefined; s = this.idle.pop()) {
      if (!s.inbox.channel.closed) return s;
      this.open.delete(s);
    }
    let dialed: Dialed;
    try {
      dialed = await this.options.dial(signal);
    } catch (err) {
      if (signal.aborted) throw reasonOf(signal);
      this.options.failed?.(err);
      throw err;
    }
    void what;
    const session = { inbox: new Inbox(dialed.channel), dialed };
    this.open.add(session);
    if (this.closed) dialed.channel.close(new Error('the client closed'));
    return session;
  }

  private release(session: Session): void {
    session.inbox.channel.expect(undefined);
    if (this.closed || session.inbox.channel.closed) return this.discard(session);
    if (this.idle.length >= (this.options.keepIdle ?? 4)) return this.discard(session);
    this.idle.push(session);
  }

  private discard(session: Session): void {
    this.open.delete(session);
    if (!session.inbox.channel.closed) session.inbox.channel.close(new Error('discarded'));
  }

  /** The value of the next reply frame, or its error. */
  private async reply(
    session: Session,
    what: string,
    signal: AbortSignal,
    timeout?: { ms: number; error: () => Error },
  ): Promise<unknown> {
    const frame = await session.inbox.next(signal, timeout);
    if (frame.type !== FRAME.reply || !isReply(frame.value)) {
      throw new ProtocolError(
        `${this.options.address}: ${what}: an unexpected frame from the server`,
      );
    }
    if (!frame.value.ok) throw this.replyError(frame, what);
    return frame.value.value;
  }

  private replyError(frame: Frame, what: string): Error {
    if (frame.type !== FRAME.reply || !isReply(frame.value) || frame.value.ok) {
      return new ProtocolError(
        `${this.options.address}: ${what}: an unexpected frame from the server`,
      );
    }
    const err = fromWireStatus(frame.value, this.options.address, what);
    return err instanceof Error ? err : new Error(String(err));
  }

  /** `promise`, failing as a stall after the idle timeout. */
  private bounded<T>(promise: Promise<T>, what: string, signal: AbortSignal): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(this.stalled(what)), this.options.idleMs);
      const onAbort = (): void => reject(reasonOf(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(resolve, reject).finally(() => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      });
    });
  }

  /** The error a failed call throws; the connection is not used again. */
  private async failed(
    session: Session,
    err: unknown,
    what: string,
    signal: AbortSignal,
  ): Promise<unknown> {
    this.discard(session);
    if (signal.aborted) return reasonOf(signal);
    const error = err instanceof ConnectionLost ? session.dialed.explain(err.cause, what) : err;
    this.options.failed?.(error);
    return error;
  }
}
