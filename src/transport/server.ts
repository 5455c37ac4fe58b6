/**
 * The server side of `xrepl serve`: one local endpoint (a Sender or a Receiver) exposed over
 * gRPC. Requests are validated with zod before the endpoint sees them; an endpoint's error
 * goes back with its own message and class (errors.ts). Under mutual TLS the client
 * certificate's common name is the client's identity and chooses its endpoint, so a receiver
 * keeps each client under `<root>/<identity>`. Send and Receive streams are bounded per
 * identity and overall (limits.ts), and a receive starts only once its first bytes arrive.
 */
import {
  Server,
  status,
  type sendUnaryData,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';

/** What every kind of server call has (grpc-js does not export the name). */
type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'getPeer' | 'getAuthContext'> & {
  once(event: 'cancelled', listener: () => void): unknown;
  off(event: 'cancelled', listener: () => void): unknown;
};

import type { Logger } from '../driver/types.js';
import { errorMessage } from '../errors/classify.js';
import type { Endpoint, ReceiveReq, Receiver, Sender } from '../endpoints/types.js';
import { parseHostPort } from './address.js';
import { endpointStatus, GrpcTimeoutError } from './errors.js';
import { CallLimiter, resolveLimits, type ServerLimits } from './limits.js';
import { destroyOn, IdentityError, parseRequest, statusOf } from './refusals.js';
import { serveChannel } from './data/serve.js';
import { socketChannel } from './data/dial.js';
import { listen, type DataSocket, type Listener } from './listener.js';
import { service } from './protocol.js';
import { asBuffer, InboundStream, writeChunks, writeMessage } from './streams.js';
import { identityOf, isLoopback, serverCredentials, type ServerTls } from './tls.js';
import {
  filesystemsToWire,
  ListFilesystemVersionsRequestSchema,
  MAX_REQUEST_MESSAGE_BYTES,
  MAX_RESPONSE_MESSAGE_BYTES,
  DestroySnapshotsRequestSchema,
  ReceiveMessageSchema,
  SendRequestSchema,
  versionToWire,
} from './wire.js';

/** Who is calling: under mutual TLS the common name of the client certificate. */
export interface ClientInfo {
  identity: string | undefined;
}

/** An endpoint for every client, or one chosen per client. */
type Provider<E> = E | ((client: ClientInfo) => E);

export type ServedEndpoint =
  | { role: 'sender'; endpoint: Provider<Sender> }
  | { role: 'receiver'; endpoint: Provider<Receiver> };

export type ServeOptions = ServedEndpoint & {
  /** `HOST:PORT`; port 0 picks a free port (see `RunningServer.port`). */
  listen: string;
  /** TLS; with `ca`, clients must present a certificate signed by it (mutual TLS). */
  tls?: ServerTls;
  /** Without TLS, listening beyond loopback is refused unless this is set. */
  insecureListenAnywhere?: boolean;
  /** A stream with no progress for this long (the client stalled) fails (default 120 s). */
  streamIdleTimeoutMs?: number;
  /** Streams at once per client and overall, and the first-byte deadline of a receive. */
  limits?: ServerLimits;
  /** Keepalive ping interval (default 20 s) and how long to wait for its answer (default 10 s). */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  logger?: Logger;
};

export interface RunningServer {
  /** The bound port (the one picked when listening on port 0). */
  readonly port: number;
  /** `grpc://HOST:PORT`, for `--from`/`--to` and `grpcSender`/`grpcReceiver`. */
  readonly url: string;
  /** Stops accepting calls, lets running ones finish for up to `graceMs` (default 5 s), then drops them. */
  close(graceMs?: number): Promise<void>;
  /** Drops every connection at once, as a crash would; resolves when every handler has ended. */
  kill(): Promise<void>;
}

/** Why the server cancels a handler when a call ends early. */
function goneError(why: string): Error {
  return Object.assign(new Error(why), { code: status.UNAVAILABLE, details: why, metadata: {} });
}

/** The endpoint of a client whose certificate names no usable identity: every call is refused. */
function refusingEndpoint(problem: string): Endpoint & Sender & Receiver {
  const refuse = (): Promise<never> => Promise.reject(new IdentityError(problem));
  return {
    listFilesystems: refuse,
    listFilesystemVersions: refuse,
    waitForConnectivity: refuse,
    sendDry: refuse,
    send: refuse,
    sendCompleted: refuse,
    receive: (_req, stream) => {
      stream.destroy();
      return refuse();
    },
  };
}

class EndpointServer {
  readonly server: Server;
  private readonly running = new Map<AbortController, Promise<void>>();
  private readonly idleMs: number;
  private readonly firstByteMs: number;
  private readonly receives: CallLimiter;
  private readonly sends: CallLimiter;

  constructor(private readonly options: ServeOptions) {
    this.idleMs = options.streamIdleTimeoutMs ?? 120_000;
    const limits = resolveLimits(options.limits);
    this.firstByteMs = limits.firstByteTimeoutMs;
    this.receives = new CallLimiter('receive', limits.receives, limits.receivesPerClient);
    this.sends = new CallLimiter('send', limits.sends, limits.sendsPerClient);
    this.server = new Server({
      'grpc.max_receive_message_length': MAX_REQUEST_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_RESPONSE_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 20_000,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 10_000,
    });
    this.server.addService(service('Endpoint'), this.endpointHandlers());
    if (options.role === 'sender') {
      this.server.addService(service('Sender'), this.senderHandlers());
    } else {
      this.server.addService(service('Receiver'), this.receiverHandlers());
    }
  }

  /**
   * Serves one data connection (listener.ts): the same endpoint, identity, limits and
   * deadlines as the gRPC calls, through data/serve.ts.
   */
  serveData(connection: DataSocket): void {
    const controller = new AbortController();
    let endpoint: Endpoint;
    let key = '';
    if (this.options.tls?.ca === undefined) {
      endpoint = this.endpointFor({ identity: undefined });
    } else {
      const found = identityOf(connection.peerCertificate);
      if ('problem' in found) {
        endpoint = refusingEndpoint(found.problem);
      } else {
        key = found.identity;
        endpoint = this.endpointFor({ identity: found.identity });
      }
    }
    const channel = socketChannel(connection.socket, this.options.keepaliveTimeMs ?? 20_000);
    const run = serveChannel(channel, {
      role: this.options.role,
      endpoint,
      client: key,
      limits: { sends: this.sends, receives: this.receives },
      firstByteMs: this.firstByteMs,
      idleMs: this.idleMs,
      requestTimeoutMs: this.firstByteMs,
      signal: controller.signal,
      peer: connection.peer,
      ...(this.options.logger !== undefined && { logger: this.options.logger }),
    })
      .catch((err: unknown) => {
        this.options.logger?.warn(
          { peer: connection.peer, err: errorMessage(err) },
          'data connection failed',
        );
      })
      .finally(() => {
        channel.close();
        this.running.delete(controller);
      });
    this.running.set(controller, run);
  }

  /** Resolves when every running handler has ended, or after `ms`. */
  async settled(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()]),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  /** Aborts every running handler and waits for all of them to end. */
  async abortAll(reason: Error): Promise<void> {
    for (const controller of this.running.keys()) controller.abort(reason);
    await Promise.allSettled([...this.running.values()]);
  }

  /** The caller of `call`, or a refusal when its identity is unusable. */
  private clientOf(call: ServerSurfaceCall): ClientInfo {
    if (this.options.tls?.ca === undefined) return { identity: undefined };
    const found = identityOf(call.getAuthContext().sslPeerCertificate);
    if ('problem' in found) throw new IdentityError(found.problem);
    return { identity: found.identity };
  }

  private endpointFor(client: ClientInfo): Endpoint {
    const { endpoint } = this.options;
    return typeof endpoint === 'function' ? endpoint(client) : endpoint;
  }

  /**
   * Runs one handler with an AbortSignal that aborts when the call is cancelled (the client
   * went away) or the server is killed; `reply` gets the error status if `body` throws. With
   * `limiter`, the call first takes a place for its client, or is refused at once.
   */
  private handle(
    call: ServerSurfaceCall,
    what: string,
    body: (endpoint: Endpoint, signal: AbortSignal) => Promise<void>,
    reply: (status: ReturnType<typeof endpointStatus>) => void,
    limiter?: CallLimiter,
  ): void {
    const controller = new AbortController();
    const cancelled = (): void =>
      controller.abort(goneError(`the client cancelled ${what} or went away`));
    call.once('cancelled', cancelled);
    let release: (() => void) | undefined;
    const run = (async () => {
      try {
        const client = this.clientOf(call);
        if (limiter !== undefined) {
          const key = client.identity ?? '';
          release = limiter.tryAcquire(key);
          if (release === undefined) throw limiter.busy(key);
        }
        await body(this.endpointFor(client), controller.signal);
      } catch (err) {
        if (controller.signal.aborted) return; // nobody is listening any more
        const failure = statusOf(err);
        this.options.logger?.warn(
          {
            method: what,
            peer: call.getPeer(),
            code: status[failure.code ?? status.UNKNOWN],
            err: errorMessage(err),
          },
          'call failed',
        );
        reply(failure);
      } finally {
        release?.();
        call.off('cancelled', cancelled);
        this.running.delete(controller);
      }
    })();
    this.running.set(controller, run);
  }

  private unary<T>(
    what: string,
    body: (endpoint: Endpoint, request: unknown, signal: AbortSignal) => Promise<T>,
  ) {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void =>
      this.handle(
        call,
        what,
        async (endpoint, signal) => callback(null, await body(endpoint, call.request, signal)),
        (failure) => callback(failure),
      );
  }

  private endpointHandlers(): UntypedServiceImplementation {
    return {
      ListFilesystems: this.unary('listFilesystems', async (endpoint, _request, signal) =>
        filesystemsToWire(await endpoint.listFilesystems(signal)),
      ),
      ListFilesystemVersions: this.unary(
        'listFilesystemVersions',
        async (endpoint, request, signal) => {
          const { filesystem } = parseRequest(
            ListFilesystemVersionsRequestSchema,
            request,
            'listFilesystemVersions',
          );
          const versions = await endpoint.listFilesystemVersions(filesystem, signal);
          return { versions: versions.map(versionToWire) };
        },
      ),
      Ping: this.unary('ping', async (endpoint, _request, signal) => {
        // Answer only once the endpoint itself is reachable (a pool daemon, say).
        await endpoint.waitForConnectivity(signal);
        return { role: this.options.role === 'sender' ? 'SENDER' : 'RECEIVER' };
      }),
    };
  }

  private senderHandlers(): UntypedServiceImplementation {
    const sender = (endpoint: Endpoint): Sender => endpoint as Sender;
    return {
      SendDry: this.unary('sendDry', async (endpoint, request, signal) => {
        const req = parseRequest(SendRequestSchema, request, 'sendDry');
        const { expectedSize } = await sender(endpoint).sendDry(req, signal);
        return { expectedSize: String(Math.max(0, Math.floor(expectedSize))) };
      }),
      SendCompleted: this.unary('sendCompleted', async (endpoint, request, signal) => {
        await sender(endpoint).sendCompleted(
          parseRequest(SendRequestSchema, request, 'sendCompleted'),
          signal,
        );
        return {};
      }),
      Send: (call: ServerWritableStream<unknown, unknown>) =>
        this.handle(
          call,
          'send',
          async (endpoint, signal) => {
            const req = parseRequest(SendRequestSchema, call.request, 'send');
            const { usedResumeToken, stream } = await sender(endpoint).send(req, signal);
            const options = {
              signal,
              idleTimeoutMs: this.idleMs,
              stalled: () => new Error(`the client read nothing for ${this.idleMs} ms`),
            };
            try {
              await writeMessage(call, { header: { usedResumeToken } }, options);
              await writeChunks(stream, call, (chunk) => ({ chunk }), options);
            } catch (err) {
              stream.destroy();
              throw err;
            }
            call.end();
          },
          (failure) => call.emit('error', failure),
          this.sends,
        ),
    };
  }

  private receiverHandlers(): UntypedServiceImplementation {
    return {
      DestroySnapshots: this.unary('destroySnapshots', async (endpoint, request, signal) =>
        destroyOn(
          endpoint,
          parseRequest(DestroySnapshotsRequestSchema, request, 'destroySnapshots'),
          signal,
        ),
      ),
      Receive: (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        this.handle(
          call,
          'receive',
          async (endpoint, signal) => {
            const inbound = new InboundStream<ReceiveReq>(
              // The call ends with our status; nothing to cancel from this side.
              { stream: call, cancel: () => undefined },
              {
                parse: (message) => {
                  const value = parseRequest(ReceiveMessageSchema, message, 'receive');
                  return value.message === 'header'
                    ? { header: value.header }
                    : { chunk: asBuffer(value.chunk) };
                },
                idleTimeoutMs: this.idleMs,
                stalled: () => new Error(`receive: no data from the client for ${this.idleMs} ms`),
                failed: (err) => err,
              },
            );
            const onAbort = (): void => {
              inbound.destroy(
                signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)),
              );
            };
            signal.addEventListener('abort', onAbort, { once: true });
            // The receive (a `zfs recv`) starts only once its first bytes are here: a client
            // that opens calls and sends nothing holds a place only until this deadline.
            const firstBytes = setTimeout(
              () =>
                inbound.destroy(
                  new GrpcTimeoutError(
                    `receive: no data from the client within ${this.firstByteMs} ms`,
                  ),
                ),
              this.firstByteMs,
            );
            try {
              const req = await inbound.header;
              await inbound.awaitData();
              clearTimeout(firstBytes);
              await (endpoint as Receiver).receive(req, inbound, signal);
            } finally {
              clearTimeout(firstBytes);
              signal.removeEventListener('abort', onAbort);
              inbound.destroy();
            }
            callback(null, {});
          },
          (failure) => callback(failure),
          this.receives,
        ),
    };
  }
}

/**
 * Serves `options.endpoint` over gRPC until closed.
 *
 * @example
 * const server = await startServer({
 *   listen: '127.0.0.1:0',
 *   role: 'receiver',
 *   endpoint: memoryReceiver(pool, 'backup'),
 * });
 * const receiver = grpcReceiver(server.url);
 * // ...
 * await server.close();
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { host, target } = parseHostPort(options.listen, 'listen address');
  if (options.tls === undefined && !isLoopback(host) && options.insecureListenAnywhere !== true) {
    throw new Error(
      `refusing to listen on ${target} without TLS: anyone who reaches it could read or write ` +
        'your datasets. Give --tls-cert and --tls-key (and --tls-ca for client certificates), ' +
        'listen on 127.0.0.1, or pass --insecure-listen-anywhere',
    );
  }
  const role: unknown = options.role;
  if (role !== 'sender' && role !== 'receiver') {
    throw new Error(`invalid role ${JSON.stringify(role)}: use sender or receiver`);
  }
  const served = new EndpointServer(options);
  let listener: Listener;
  try {
    listener = await listen({
      host: host.startsWith('[') ? host.slice(1, -1) : host,
      port: parseHostPort(options.listen, 'listen address').port,
      ...(options.tls !== undefined && { tls: options.tls }),
      grpc: served.server.createConnectionInjector(serverCredentials(options.tls)),
      data: (connection) => served.serveData(connection),
      handshakeTimeoutMs: resolveLimits(options.limits).firstByteTimeoutMs,
    });
  } catch (err) {
    served.server.forceShutdown();
    throw new Error(`cannot listen on ${target}: ${errorMessage(err)}`, { cause: err });
  }
  const port = listener.port;
  const shownHost = target.slice(0, target.lastIndexOf(':'));
  const url = `grpc://${shownHost}:${port}`;
  const tlsMode =
    options.tls === undefined ? 'none' : options.tls.ca === undefined ? 'tls' : 'mutual-tls';
  options.logger?.info({ url, role: options.role, tls: tlsMode }, 'serving');
  let stopped: Promise<void> | undefined;
  return {
    port,
    url,
    close(graceMs = 5_000) {
      stopped ??= (async () => {
        const stopping = listener.stop();
        await Promise.all([
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => served.server.forceShutdown(), graceMs);
            served.server.tryShutdown(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
          served.settled(graceMs),
        ]);
        await served.abortAll(goneError('the server shut down'));
        listener.destroyAll();
        await stopping;
        options.logger?.info({ url }, 'stopped');
      })();
      return stopped;
    },
    kill() {
      stopped ??= (async () => {
        const stopping = listener.stop();
        served.server.forceShutdown();
        listener.destroyAll();
        await served.abortAll(goneError('the server was killed'));
        await stopping;
      })();
      return stopped;
    },
  };
}
