/**
 * The client endpoint `grpc://HOST:PORT` (REPLICATION.md "Backends", 3): a Sender or a
 * Receiver whose calls go to `xrepl serve` on another machine. Unary calls carry a deadline,
 * streams an idle watchdog, the channel sends keepalive pings, and `waitForConnectivity`
 * reconnects with exponential backoff. Every answer is validated with zod before use. Once
 * the connection is known lost, calls fail at once until it is back (liveness.ts), and a
 * TLS certificate problem fails as a permanent error that names it.
 */
import {
  Client,
  connectivityState,
  Metadata,
  type ChannelOptions,
  type ClientReadableStream,
} from '@grpc/grpc-js';
import type { Readable } from 'node:stream';
import type { ReceiveReq, SendReq } from '../endpoints/types.js';
import { parseServerAddress } from './address.js';
import {
  fromCallError,
  GrpcEndpointError,
  GrpcTimeoutError,
  isUnexplainedConnectFailure,
  TlsCertificateError,
} from './errors.js';
import { DataClient } from './data/client.js';
import { dialData } from './data/dial.js';
import { Liveness } from './liveness.js';
import { METHODS } from './protocol.js';
import {
  invalidResponse,
  reconnectOf,
  RemoteReceiver,
  RemoteSender,
  type Reconnect,
  type RemoteClientOptions,
  type RemoteConnection,
  type RequestOp,
  type Role,
} from './remote.js';
import { asBuffer, InboundStream, writeChunks, writeMessage } from './streams.js';
import { channelCredentials, type ClientTls } from './tls.js';
import { probeCertificates } from './tls-probe.js';
import {
  MAX_REQUEST_MESSAGE_BYTES,
  MAX_RESPONSE_MESSAGE_BYTES,
  receiveHeaderToWire,
  SendMessageSchema,
  sendRequestToWire,
} from './wire.js';

/**
 * Options of `grpcSender` and `grpcReceiver`; every duration in milliseconds. Defaults: each
 * unary call 30 s, a stream's idle timeout 60 s, keepalive pings every 20 s and lost after
 * 10 s without an answer, reconnecting after 200 ms, doubling up to 5 s.
 */
export interface GrpcClientOptions extends RemoteClientOptions {
  /** TLS material; absent: plaintext (the server must be on loopback or allow it). */
  tls?: ClientTls;
  /**
   * How send and receive streams travel: `connection` (default), a data connection of their
   * own to the same port with light framing (data/), at about the raw pipe's speed; `grpc`,
   * gRPC streams (Sender.Send, Receiver.Receive), for servers older than the data connection.
   */
  streams?: 'connection' | 'grpc';
}

/** The receive window of a connection (bytes in flight towards us). */
const FLOW_CONTROL_WINDOW_BYTES = 4 * 1024 * 1024;

/** The channel to `xrepl serve`, its unary calls, and its streams (on data connections or gRPC). */
class GrpcConnection implements RemoteConnection<void> {
  /** `grpc://host:port`, for messages. */
  readonly address: string;
  readonly reconnect: Reconnect;
  private client: Client | undefined;
  private closed = false;
  private readonly host: string;
  private readonly port: number;
  private readonly target: string;
  private readonly liveness = new Liveness();
  private readonly channelOptions: ChannelOptions;
  private readonly callTimeoutMs: number;
  private readonly streamIdleTimeoutMs: number;
  /** Send and receive streams on data connections; undefined: over gRPC. */
  private readonly data: DataClient | undefined;

  constructor(
    address: string,
    private readonly options: GrpcClientOptions,
  ) {
    const { host, port, target } = parseServerAddress(
      address.replace(/^grpc:\/\//, ''),
      'gRPC address',
    );
    this.host = host;
    this.port = port;
    this.target = target;
    this.address = `grpc://${this.target}`;
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? 60_000;
    this.reconnect = reconnectOf(options, { initialDelayMs: 200, maxDelayMs: 5_000 });
    const maxDelay = this.reconnect.maxDelayMs;
    if (options.streams !== 'grpc') {
      const dialOptions = {
        host,
        port,
        address: this.address,
        ...(options.tls !== undefined && { tls: options.tls }),
        keepaliveMs: options.keepaliveTimeMs ?? 20_000,
        connectTimeoutMs: this.callTimeoutMs,
      };
      this.data = new DataClient({
        address: this.address,
        dial: (signal) => dialData(dialOptions, signal),
        callTimeoutMs: this.callTimeoutMs,
        idleMs: this.streamIdleTimeoutMs,
        failed: (err) =>
          this.liveness.failed(
            err,
            this.client?.getChannel().getConnectivityState(false) === connectivityState.READY,
          ),
        answered: () => this.liveness.answered(),
        // One connection per stream: the handshake is small beside a stream.
        keepIdle: 0,
        keepalive: {
          timeMs: options.keepaliveTimeMs ?? 20_000,
          timeoutMs: options.keepaliveTimeoutMs ?? 10_000,
        },
      });
    }
    this.channelOptions = {
      'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 20_000,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_send_message_length': MAX_REQUEST_MESSAGE_BYTES,
      'grpc.max_receive_message_length': MAX_RESPONSE_MESSAGE_BYTES,
      // HTTP/2's default 64 KiB window costs a round trip per 64 KiB of a send stream; a
      // bounded larger window keeps loopback and long links busy, and memory bounded.
      'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
      // Reconnecting is waitForConnectivity's job; grpc-js's own backoff stays short.
      'grpc.initial_reconnect_backoff_ms': Math.min(1_000, maxDelay),
      'grpc.max_reconnect_backoff_ms': maxDelay,
      'grpc.enable_retries': 0,
      ...(options.tls?.serverName !== undefined && {
        'grpc.ssl_target_name_override': options.tls.serverName,
        'grpc.default_authority': options.tls.serverName,
      }),
    };
  }

  /** A fresh channel for each retry of `waitForConnectivity`. */
  retrying(): void {
    this.resetChannel();
  }

  wrongRole(served: Role, expected: Role): string {
    return `${this.address} serves a ${served}, not a ${expected} (see \`xrepl serve --role\`)`;
  }

  /** Closes the channel; calls after this reject. Running calls are cancelled. */
  close(): void {
    this.closed = true;
    void this.data?.close();
    this.resetChannel();
  }

  private channel(): Client {
    if (this.closed) throw new Error(`${this.address}: the client endpoint was closed`);
    this.client ??= new Client(
      this.target,
      channelCredentials(this.options.tls),
      this.channelOptions,
    );
    return this.client;
  }

  private resetChannel(): void {
    this.client?.close();
    this.client = undefined;
  }

  /** A unary call; async, so that a call refused before it starts rejects, never throws. */
  async request(method: RequestOp, request: unknown, signal: AbortSignal): Promise<unknown> {
    signal.throwIfAborted();
    const m = METHODS[method];
    // A ping is how a lost connection is found back: it is always tried.
    const client = method === 'ping' ? this.channel() : this.checkLiveness(method);
    return new Promise((resolve, reject) => {
      const call = client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        new Metadata(),
        { deadline: Date.now() + this.callTimeoutMs },
        (err, value) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) return reject(signal.reason);
          if (err) return void this.explained(err, method, signal).then(reject, reject);
          this.liveness.answered();
          resolve(value);
        },
      );
      const onAbort = (): void => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The error of a stream that made no progress for the idle timeout. */
  private stalled(what: string): Error {
    const error = new GrpcTimeoutError(
      `${this.address}: ${what}: no progress for ${this.streamIdleTimeoutMs} ms (the peer stalled)`,
    );
    this.liveness.failed(error);
    return error;
  }

  /** Throws at once if the connection is known lost and not back (liveness.ts). */
  private checkLiveness(what: string): Client {
    const client = this.channel();
    this.liveness.check(client, `${this.address}: ${what}`);
    return client;
  }

  /** A failed call's error (errors.ts), noted for liveness. */
  private failure(err: unknown, what: string): unknown {
    const error = fromCallError(err, this.address, what);
    this.liveness.failed(error);
    return error;
  }

  /** The server answered a stream: the connection works. */
  private answered(): void {
    this.liveness.answered();
  }

  /**
   * `failure()`, and for a TLS connection that failed without grpc-js saying why, the
   * certificate failure a handshake of our own finds (tls-probe.ts).
   */
  private async explained(err: unknown, what: string, signal: AbortSignal): Promise<unknown> {
    const error = this.failure(err, what);
    const tls = this.options.tls;
    if (tls === undefined || !isUnexplainedConnectFailure(error)) return error;
    const failure = await probeCertificates(this.host, this.port, tls, {
      timeoutMs: Math.min(this.callTimeoutMs, 5_000),
      signal,
    });
    if (signal.aborted) return signal.reason;
    if (failure === undefined) return error;
    return new TlsCertificateError(`${this.address}: ${what}`, failure, { cause: error });
  }

  /**
   * Resolves once the server has started the send (its header arrived); the stream then
   * yields the bytes. Destroying the stream or aborting `signal` cancels the call.
   */
  async send(
    req: SendReq,
    signal: AbortSignal,
  ): Promise<{ usedResumeToken: boolean; stream: Readable }> {
    signal.throwIfAborted();
    if (this.data !== undefined) {
      this.checkLiveness('send');
      return this.data.send(req, signal);
    }
    const m = METHODS.send;
    const call: ClientReadableStream<unknown> = this.checkLiveness('send').makeServerStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      sendRequestToWire(req),
      new Metadata(),
      {},
    );
    const stream = new InboundStream<{ usedResumeToken: boolean }>(
      { stream: call, cancel: () => call.cancel() },
      {
        parse: (message) => {
          const parsed = SendMessageSchema.safeParse(message);
          if (!parsed.success) throw invalidResponse(this.address, 'send', parsed.error);
          const value = parsed.data;
          return value.message === 'header'
            ? { header: value.header }
            : { chunk: asBuffer(value.chunk) };
        },
        idleTimeoutMs: this.streamIdleTimeoutMs,
        stalled: () => this.stalled('send'),
        failed: (err) => (signal.aborted ? signal.reason : this.failure(err, 'send')),
      },
    );
    const onAbort = (): void => {
      stream.destroy(
        signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
    const header = await stream.header;
    this.answered();
    return { usedResumeToken: header.usedResumeToken, stream };
  }

  /**
   * Streams `stream` to the server, which receives it into `req.filesystem`; resolves once the
   * server has applied it. If `stream` fails, the call is cancelled (the server discards the
   * partial receive, or keeps it for resume) and its error is rethrown.
   */
  async receive(req: ReceiveReq, stream: Readable, signal: AbortSignal): Promise<void> {
    if (signal.aborted) {
      stream.destroy();
      throw signal.reason;
    }
    const m = METHODS.receive;
    let client: Client;
    try {
      client = this.checkLiveness('receive');
    } catch (err) {
      stream.destroy();
      throw err;
    }
    if (this.data !== undefined) return this.data.receive(req, stream, signal);
    const failed = new AbortController();
    let callError: unknown;
    let settle!: { resolve: () => void; reject: (err: unknown) => void };
    const response = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    response.catch(() => undefined);
    const call = client.makeClientStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      new Metadata(),
      {},
      (err) => {
        if (!err) {
          this.answered();
          return settle.resolve();
        }
        callError = signal.aborted ? signal.reason : this.failure(err, 'receive');
        failed.abort(callError);
        settle.reject(callError);
      },
    );
    const both = AbortSignal.any([signal, failed.signal]);
    const cancel = (): void => call.cancel();
    both.addEventListener('abort', cancel, { once: true });
    const options = {
      signal: both,
      idleTimeoutMs: this.streamIdleTimeoutMs,
      stalled: () => this.stalled('receive'),
    };
    try {
      await writeMessage(call, receiveHeaderToWire(req), options);
      await writeChunks(stream, call, (chunk) => ({ chunk }), options);
      call.end();
      await this.settled(response, options);
    } catch (err) {
      // The server's answer explains best; else the stream's own error, else ours. Taken
      // before our cancel, whose own CANCELLED status explains nothing.
      const serverSaid = callError;
      call.cancel();
      stream.destroy();
      if (serverSaid !== undefined && !signal.aborted) throw serverSaid;
      throw err;
    } finally {
      both.removeEventListener('abort', cancel);
    }
  }

  /** The server's answer, bounded by the idle timeout (it applies the received stream). */
  private settled(
    response: Promise<void>,
    options: { signal: AbortSignal; stalled: () => Error },
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(options.stalled()), this.streamIdleTimeoutMs);
      const onAbort = (): void => reject(options.signal.reason);
      options.signal.addEventListener('abort', onAbort, { once: true });
      response.then(resolve, reject).finally(() => {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', onAbort);
      });
    });
  }
}

/** The Sender served by `xrepl serve --role sender` at `address`. */
export class GrpcSender extends RemoteSender<void> {
  constructor(address: string, options: GrpcClientOptions = {}) {
    super(new GrpcConnection(address, options));
  }
}

/** The Receiver served by `xrepl serve --role receiver` at `address`. */
export class GrpcReceiver extends RemoteReceiver<void> {
  constructor(address: string, options: GrpcClientOptions = {}) {
    super(new GrpcConnection(address, options));
  }
}

/**
 * The Sender at `address` (`grpc://HOST:PORT` or `HOST:PORT`), served by `xrepl serve --role sender`.
 * Call `close()` when done.
 *
 * @example
 * const sender = grpcSender('grpc://tank.example:7000', { tls: await loadClientTls({ ca: 'ca.pem' }) });
 * const planner = createPlanner(sender, zfsReceiver({ root: 'backup/tank' }));
 */
export function grpcSender(address: string, options: GrpcClientOptions = {}): GrpcSender {
  return new GrpcSender(address, options);
}

/**
 * The Receiver at `address`, served by `xrepl serve --role receiver`. Call `close()` when done.
 *
 * @example
 * const receiver = grpcReceiver('grpc://127.0.0.1:7000');
 * const planner = createPlanner(zfsSender({ root: 'tank' }), receiver);
 */
export function grpcReceiver(address: string, options: GrpcClientOptions = {}): GrpcReceiver {
  return new GrpcReceiver(address, options);
}

export { GrpcEndpointError, GrpcTimeoutError, TlsCertificateError };
