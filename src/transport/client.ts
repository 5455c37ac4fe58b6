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
import type { z } from 'zod';
import { classifyError } from '../errors/classify.js';
import type {
  DestroySnapshotsReq,
  DestroySnapshotsResult,
  EndpointFilesystem,
  FilesystemVersion,
  PrunableReceiver,
  ReceiveReq,
  SendReq,
  Sender,
} from '../endpoints/types.js';
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
import { asBuffer, InboundStream, writeChunks, writeMessage } from './streams.js';
import { channelCredentials, type ClientTls } from './tls.js';
import { probeCertificates } from './tls-probe.js';
import {
  describeIssues,
  DestroySnapshotsResponseSchema,
  EmptySchema,
  ListFilesystemsResponseSchema,
  ListFilesystemVersionsResponseSchema,
  MAX_REQUEST_MESSAGE_BYTES,
  MAX_RESPONSE_MESSAGE_BYTES,
  PingResponseSchema,
  receiveHeaderToWire,
  SendDryResponseSchema,
  SendMessageSchema,
  sendRequestToWire,
} from './wire.js';

/** Options of `grpcSender` and `grpcReceiver`; every duration in milliseconds. */
export interface GrpcClientOptions {
  /** TLS material; absent: plaintext (the server must be on loopback or allow it). */
  tls?: ClientTls;
  /** Deadline of each unary call (default 30 s). */
  callTimeoutMs?: number;
  /** A stream with no progress for this long while we wait on the peer fails (default 60 s). */
  streamIdleTimeoutMs?: number;
  /** Keepalive ping interval (default 20 s) and how long to wait for its answer (default 10 s). */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /** `waitForConnectivity`: first retry delay (default 200 ms), doubling up to `maxDelayMs` (5 s). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Source of the reconnect jitter, in [0, 1) (default Math.random). */
  random?: () => number;
  /**
   * How send and receive streams travel: `connection` (default), a data connection of their
   * own to the same port with light framing (data/), at about the raw pipe's speed; `grpc`,
   * gRPC streams (Sender.Send, Receiver.Receive), for servers older than the data connection.
   */
  streams?: 'connection' | 'grpc';
}

type Role = 'sender' | 'receiver';

/** The receive window of a connection (bytes in flight towards us). */
const FLOW_CONTROL_WINDOW_BYTES = 4 * 1024 * 1024;

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A protocol violation by the server: permanent, it would say the same again. */
function invalidResponse(address: string, what: string, error: z.ZodError): Error {
  return new Error(`${address}: invalid ${what} response: ${describeIssues(error)}`, {
    cause: error,
  });
}

/** What both client endpoints share: the channel, unary calls, and reconnecting. */
class GrpcClientEndpoint {
  /** `grpc://host:port`, for messages. */
  readonly address: string;
  private client: Client | undefined;
  private closed = false;
  private readonly host: string;
  private readonly port: number;
  private readonly target: string;
  private readonly liveness = new Liveness();
  private readonly channelOptions: ChannelOptions;
  protected readonly callTimeoutMs: number;
  protected readonly streamIdleTimeoutMs: number;
  /** Send and receive streams on data connections; undefined: over gRPC. */
  protected readonly data: DataClient | undefined;

  constructor(
    address: string,
    private readonly role: Role,
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
    const maxDelay = options.reconnect?.maxDelayMs ?? 5_000;
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

  async listFilesystems(signal: AbortSignal): Promise<EndpointFilesystem[]> {
    return this.unary('listFilesystems', {}, ListFilesystemsResponseSchema, signal);
  }

  async listFilesystemVersions(fs: string, signal: AbortSignal): Promise<FilesystemVersion[]> {
    const res = await this.unary(
      'listFilesystemVersions',
      { filesystem: fs },
      ListFilesystemVersionsResponseSchema,
      signal,
    );
    return res.versions;
  }

  /**
   * Resolves once the server answers a ping as the expected role. Connection failures are
   * retried with exponential backoff (and a fresh channel each time) until `signal` aborts;
   * anything else (wrong role, refused certificate) rejects at once.
   */
  async waitForConnectivity(signal: AbortSignal): Promise<void> {
    const initial = this.options.reconnect?.initialDelayMs ?? 200;
    const max = this.options.reconnect?.maxDelayMs ?? 5_000;
    const random = this.options.random ?? Math.random;
    for (let delay = initial; ; delay = Math.min(max, delay * 2)) {
      signal.throwIfAborted();
      try {
        const { role } = await this.unary('ping', {}, PingResponseSchema, signal);
        const served = role === 'SENDER' ? 'sender' : 'receiver';
        if (served !== this.role) {
          throw new Error(
            `${this.address} serves a ${served}, not a ${this.role} (see \`xrepl serve --role\`)`,
          );
        }
        return;
      } catch (err) {
        if (signal.aborted || classifyError(err) !== 'temporary-connectivity') throw err;
      }
      this.resetChannel();
      // Jitter in [delay/2, delay): clients of one server do not reconnect in lockstep.
      await abortableDelay(delay / 2 + (random() * delay) / 2, signal);
    }
  }

  /** Closes the channel; calls after this reject. Running calls are cancelled. */
  close(): void {
    this.closed = true;
    void this.data?.close();
    this.resetChannel();
  }

  protected channel(): Client {
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

  protected unary<S extends z.ZodType>(
    method: keyof typeof METHODS,
    request: unknown,
    schema: S,
    signal: AbortSignal,
  ): Promise<z.output<S>> {
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
          const parsed = schema.safeParse(value);
          if (!parsed.success) return reject(invalidResponse(this.address, method, parsed.error));
          resolve(parsed.data);
        },
      );
      const onAbort = (): void => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The error of a stream that made no progress for the idle timeout. */
  protected stalled(what: string): Error {
    const error = new GrpcTimeoutError(
      `${this.address}: ${what}: no progress for ${this.streamIdleTimeoutMs} ms (the peer stalled)`,
    );
    this.liveness.failed(error);
    return error;
  }

  /** Throws at once if the connection is known lost and not back (liveness.ts). */
  protected checkLiveness(what: string): Client {
    const client = this.channel();
    this.liveness.check(client, `${this.address}: ${what}`);
    return client;
  }

  /** A failed call's error (errors.ts), noted for liveness. */
  protected failure(err: unknown, what: string): unknown {
    const error = fromCallError(err, this.address, what);
    this.liveness.failed(error);
    return error;
  }

  /** The server answered a stream: the connection works. */
  protected answered(): void {
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
}

/** The Sender served by `xrepl serve --role sender` at `address`. */
export class GrpcSender extends GrpcClientEndpoint implements Sender {
  constructor(address: string, options: GrpcClientOptions = {}) {
    super(address, 'sender', options);
  }

  sendDry(req: SendReq, signal: AbortSignal): Promise<{ expectedSize: number }> {
    return this.unary('sendDry', sendRequestToWire(req), SendDryResponseSchema, signal);
  }

  async sendCompleted(req: SendReq, signal: AbortSignal): Promise<void> {
    await this.unary('sendCompleted', sendRequestToWire(req), EmptySchema, signal);
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
}

/** The Receiver served by `xrepl serve --role receiver` at `address`. */
export class GrpcReceiver extends GrpcClientEndpoint implements PrunableReceiver {
  constructor(address: string, options: GrpcClientOptions = {}) {
    super(address, 'receiver', options);
  }

  /** Asks the server to destroy snapshots below this client's root (refused unless allowed). */
  destroySnapshots(req: DestroySnapshotsReq, signal: AbortSignal): Promise<DestroySnapshotsResult> {
    return this.unary('destroySnapshots', req, DestroySnapshotsResponseSchema, signal);
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
