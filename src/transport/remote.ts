/**
 * The client endpoints of another machine, whatever carries their calls: `grpc://` (client.ts)
 * or `ssh://` (ssh/endpoint.ts). A transport gives a `RemoteConnection` (its requests, its
 * streams, its backoff and its words for a wrong role); `RemoteSender` and `RemoteReceiver`
 * make the Sender and Receiver of it, so that each endpoint method is written once.
 */
import type { Readable } from 'node:stream';
import type { z } from 'zod';
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
import { classifyError } from '../errors/classify.js';
import {
  describeIssues,
  DestroySnapshotsResponseSchema,
  EmptySchema,
  ListFilesystemsResponseSchema,
  ListFilesystemVersionsResponseSchema,
  PingResponseSchema,
  SendDryResponseSchema,
  sendRequestToWire,
} from './wire.js';

export type Role = 'sender' | 'receiver';

/** The requests without a stream. */
export type RequestOp =
  | 'ping'
  | 'listFilesystems'
  | 'listFilesystemVersions'
  | 'sendDry'
  | 'sendCompleted'
  | 'destroySnapshots';

/** The options of every remote endpoint; durations in milliseconds, defaults by transport. */
export interface RemoteClientOptions {
  /** Deadline of each call without a stream. */
  callTimeoutMs?: number;
  /** A stream with no progress for this long while we wait on the peer fails. */
  streamIdleTimeoutMs?: number;
  /** Heartbeats every `keepaliveTimeMs`; the connection is lost when one goes unanswered for `keepaliveTimeoutMs`. */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /** `waitForConnectivity`: first retry delay, doubling up to `maxDelayMs`. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Source of the reconnect jitter, in [0, 1) (default Math.random). */
  random?: () => number;
}

/** `waitForConnectivity`'s first retry delay, doubling up to `maxDelayMs`; its jitter's source. */
export interface Reconnect {
  initialDelayMs: number;
  maxDelayMs: number;
  random: () => number;
}

/** The backoff of `options`, a transport's own defaults where it says nothing. */
export function reconnectOf(
  options: RemoteClientOptions,
  defaults: { initialDelayMs: number; maxDelayMs: number },
): Reconnect {
  return {
    initialDelayMs: options.reconnect?.initialDelayMs ?? defaults.initialDelayMs,
    maxDelayMs: options.reconnect?.maxDelayMs ?? defaults.maxDelayMs,
    random: options.random ?? Math.random,
  };
}

/** What a transport gives the remote endpoints. `Closed`: what its `close()` returns. */
export interface RemoteConnection<Closed> {
  /** `grpc://host:port`, `ssh://host/ROOT`, for messages. */
  readonly address: string;
  /** One request and its answer, not validated yet (a rejection, not a throw, on failure). */
  request(op: RequestOp, req: unknown, signal: AbortSignal): Promise<unknown>;
  send(req: SendReq, signal: AbortSignal): Promise<{ usedResumeToken: boolean; stream: Readable }>;
  receive(req: ReceiveReq, stream: Readable, signal: AbortSignal): Promise<void>;
  readonly reconnect: Reconnect;
  /** Called before each retry of `waitForConnectivity` (gRPC: a fresh channel). */
  retrying(): void;
  /** The error message when the remote serves `served`, not `expected`: what to check. */
  wrongRole(served: Role, expected: Role): string;
  close(): Closed;
}

/** A protocol violation by the remote: permanent, it would say the same again. */
export function invalidResponse(address: string, what: string, error: z.ZodError): Error {
  return new Error(`${address}: invalid ${what} response: ${describeIssues(error)}`, {
    cause: error,
  });
}

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

/** What both remote endpoints share: listing, connectivity, closing. */
class RemoteEndpoint<Closed> {
  /** Where the calls go, for messages. */
  readonly address: string;

  constructor(
    protected readonly connection: RemoteConnection<Closed>,
    private readonly role: Role,
  ) {
    this.address = connection.address;
  }

  listFilesystems(signal: AbortSignal): Promise<EndpointFilesystem[]> {
    return this.request('listFilesystems', {}, ListFilesystemsResponseSchema, signal);
  }

  async listFilesystemVersions(fs: string, signal: AbortSignal): Promise<FilesystemVersion[]> {
    const res = await this.request(
      'listFilesystemVersions',
      { filesystem: fs },
      ListFilesystemVersionsResponseSchema,
      signal,
    );
    return res.versions;
  }

  /**
   * Resolves once the remote answers a ping as the expected role. A lost connection is
   * retried with exponential backoff until `signal` aborts; anything else (a wrong role, a
   * refused key or certificate) rejects at once.
   */
  async waitForConnectivity(signal: AbortSignal): Promise<void> {
    const { initialDelayMs, maxDelayMs, random } = this.connection.reconnect;
    for (let delay = initialDelayMs; ; delay = Math.min(maxDelayMs, delay * 2)) {
      signal.throwIfAborted();
      try {
        const { role } = await this.request('ping', {}, PingResponseSchema, signal);
        const served = role === 'SENDER' ? 'sender' : 'receiver';
        if (served !== this.role) throw new Error(this.connection.wrongRole(served, this.role));
        return;
      } catch (err) {
        if (signal.aborted || classifyError(err) !== 'temporary-connectivity') throw err;
      }
      this.connection.retrying();
      // Jitter in [delay/2, delay): clients of one server do not reconnect in lockstep.
      await abortableDelay(delay / 2 + (random() * delay) / 2, signal);
    }
  }

  /** One request, its answer validated with `schema`. */
  protected async request<S extends z.ZodType>(
    op: RequestOp,
    req: unknown,
    schema: S,
    signal: AbortSignal,
  ): Promise<z.output<S>> {
    const parsed = schema.safeParse(await this.connection.request(op, req, signal));
    if (!parsed.success) throw invalidResponse(this.address, op, parsed.error);
    return parsed.data;
  }

  /** Ends the connection; calls after this reject, running ones are cancelled. */
  close(): Closed {
    return this.connection.close();
  }
}

/** The Sender whose calls go over `connection`. */
export class RemoteSender<Closed> extends RemoteEndpoint<Closed> implements Sender {
  constructor(connection: RemoteConnection<Closed>) {
    super(connection, 'sender');
  }

  sendDry(req: SendReq, signal: AbortSignal): Promise<{ expectedSize: number }> {
    return this.request('sendDry', sendRequestToWire(req), SendDryResponseSchema, signal);
  }

  async sendCompleted(req: SendReq, signal: AbortSignal): Promise<void> {
    await this.request('sendCompleted', sendRequestToWire(req), EmptySchema, signal);
  }

  /**
   * Resolves once the remote has started the send (its header arrived); the stream then
   * yields the bytes. Destroying the stream or aborting `signal` cancels the call.
   */
  send(req: SendReq, signal: AbortSignal): Promise<{ usedResumeToken: boolean; stream: Readable }> {
    return this.connection.send(req, signal);
  }
}

/** The Receiver whose calls go over `connection`. */
export class RemoteReceiver<Closed> extends RemoteEndpoint<Closed> implements PrunableReceiver {
  constructor(connection: RemoteConnection<Closed>) {
    super(connection, 'receiver');
  }

  /** Asks the remote to destroy snapshots below this client's root (refused unless allowed). */
  destroySnapshots(req: DestroySnapshotsReq, signal: AbortSignal): Promise<DestroySnapshotsResult> {
    return this.request('destroySnapshots', req, DestroySnapshotsResponseSchema, signal);
  }

  /**
   * Streams `stream` to the remote, which receives it into `req.filesystem`; resolves once it
   * has applied it. If `stream` fails, the call is cancelled (the remote discards the partial
   * receive, or keeps it for resume) and its error is rethrown.
   */
  receive(req: ReceiveReq, stream: Readable, signal: AbortSignal): Promise<void> {
    return this.connection.receive(req, stream, signal);
  }
}
