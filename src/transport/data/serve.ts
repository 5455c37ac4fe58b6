/**
 * The serving end of a data connection (one TLS connection of `xrepl serve`, or the stdio of
 * `xrepl stdio` under ssh): requests one after the other, each answered by a reply. The
 * requests are the Endpoint API's, validated by the same schemas as the gRPC calls (wire.ts),
 * and a failure is answered with the same status (refusals.ts). Send and receive streams take
 * a place from the same limits as gRPC's, and a receive starts only once its first bytes are
 * here.
 */
import { status } from '@grpc/grpc-js';
import { z } from 'zod';
import type { Logger } from '../../driver/types.js';
import type { Endpoint, Receiver, Sender } from '../../endpoints/types.js';
import { errorMessage } from '../../errors/classify.js';
import { GrpcTimeoutError, refusal, statusToWire } from '../errors.js';
import type { CallLimiter } from '../limits.js';
import { destroyOn, parseRequest, RequestError, statusOf } from '../refusals.js';
import { reasonOf } from '../streams.js';
import {
  DestroySnapshotsRequestSchema,
  filesystemsToWire,
  ListFilesystemVersionsRequestSchema,
  ReceiveHeaderSchema,
  SendRequestSchema,
  versionToWire,
} from '../wire.js';
import { FRAME, ProtocolError, type FrameChannel } from './channel.js';
import { FrameInbound, Inbox, pumpFrames } from './streams.js';

export interface ChannelServeOptions {
  role: 'sender' | 'receiver';
  endpoint: Endpoint;
  /** The client's key for the limits (its identity, `''` for all without one). */
  client: string;
  /** Places for streams; without them (stdio: one process per ssh session) none are counted. */
  limits?: { sends: CallLimiter; receives: CallLimiter };
  /** A receive whose first bytes have not come this long after its request fails. */
  firstByteMs: number;
  /** A stream with no progress for this long fails. */
  idleMs: number;
  /** How long to wait for a request; undefined: as long as the connection lasts. */
  requestTimeoutMs?: number;
  /** Aborts every call (the server is killed). */
  signal: AbortSignal;
  /** For logs: who is calling. */
  peer: string;
  logger?: Logger;
}

const RequestSchema = z.object({
  op: z.string(),
  req: z.unknown().optional(),
  /** How often the client wants a heartbeat while the call runs. */
  keepaliveMs: z.number().int().positive().optional(),
});

/** Heartbeats at most this often, whatever a client asks. */
const MIN_HEARTBEAT_MS = 50;

/** As gRPC's first Receive message: the header under `header`. */
const ReceiveRequestSchema = z.object({ header: ReceiveHeaderSchema });

/** Why a call's failure ends the connection too: the peer is in the middle of a stream. */
class StreamFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(errorMessage(cause));
  }
}

/** Serves requests on `channel` until it closes or `options.signal` aborts. */
export async function serveChannel(
  channel: FrameChannel,
  options: ChannelServeOptions,
): Promise<void> {
  const inbox = new Inbox(channel);
  const onAbort = (): void => channel.close(reasonOf(options.signal));
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      let frame;
      try {
        frame = await inbox.next(
          options.signal,
          options.requestTimeoutMs === undefined
            ? undefined
            : {
                ms: options.requestTimeoutMs,
                error: () => new GrpcTimeoutError('no request from the client in time'),
              },
        );
      } catch {
        return; // closed, killed, or idle: nothing to answer
      }
      const keepGoing = await serveOne(inbox, frame.type, frame.value, options);
      if (!keepGoing) {
        inbox.discarding = true;
        channel.close();
        return;
      }
    }
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
}

/** Answers one request; false when the connection must end after it. */
async function serveOne(
  inbox: Inbox,
  type: number,
  value: unknown,
  options: ChannelServeOptions,
): Promise<boolean> {
  const { channel } = inbox;
  const call = new AbortController();
  const onClose = (): void => call.abort(new Error('the client went away'));
  const abortAll = AbortSignal.any([options.signal, call.signal]);
  // The call ends with the connection.
  const unsubscribe = inbox.onClose(onClose);
  let op = 'request';
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    if (type !== FRAME.request) throw new ProtocolError(`expected a request, got frame ${type}`);
    const request = parseRequest(RequestSchema, value, 'data connection');
    op = request.op;
    if (request.keepaliveMs !== undefined) {
      const empty = Buffer.alloc(0);
      heartbeat = setInterval(
        () => {
          // Behind a full output, the data itself shows the client we are alive.
          if (!channel.closed && !channel.output.writableNeedDrain) {
            channel.write(FRAME.heartbeat, empty);
          }
        },
        Math.max(MIN_HEARTBEAT_MS, request.keepaliveMs),
      );
    }
    const result = await dispatch(inbox, request.op, request.req, options, abortAll);
    if (abortAll.aborted) return false;
    if (result !== ANSWERED) channel.writeJson(FRAME.reply, { ok: true, value: result });
    return true;
  } catch (err) {
    if (abortAll.aborted || channel.closed) return false;
    const cause = err instanceof StreamFailure ? err.cause : err;
    const failure =
      cause instanceof ProtocolError
        ? refusal(status.INVALID_ARGUMENT, cause.message)
        : cause instanceof RoleError
          ? refusal(status.UNIMPLEMENTED, cause.message)
          : statusOf(cause);
    options.logger?.warn(
      {
        method: op,
        peer: options.peer,
        code: status[failure.code ?? status.UNKNOWN],
        err: errorMessage(cause),
      },
      'call failed',
    );
    channel.writeJson(FRAME.reply, { ok: false, ...statusToWire(failure) });
    return !(err instanceof StreamFailure) && !(cause instanceof ProtocolError);
  } finally {
    clearInterval(heartbeat);
    unsubscribe();
  }
}

class RoleError extends Error {}

/** A call that has sent its reply itself (a send: its reply comes before the stream). */
const ANSWERED = Symbol('answered');

function sender(endpoint: Endpoint, options: ChannelServeOptions, op: string): Sender {
  if (options.role !== 'sender') throw new RoleError(`this server serves a receiver: no ${op}`);
  return endpoint as Sender;
}

async function dispatch(
  inbox: Inbox,
  op: string,
  req: unknown,
  options: ChannelServeOptions,
  signal: AbortSignal,
): Promise<unknown> {
  const { endpoint } = options;
  switch (op) {
    case 'ping':
      await endpoint.waitForConnectivity(signal);
      return { role: options.role === 'sender' ? 'SENDER' : 'RECEIVER' };
    case 'listFilesystems':
      return filesystemsToWire(await endpoint.listFilesystems(signal));
    case 'listFilesystemVersions': {
      const { filesystem } = parseRequest(ListFilesystemVersionsRequestSchema, req, op);
      const versions = await endpoint.listFilesystemVersions(filesystem, signal);
      return { versions: versions.map(versionToWire) };
    }
    case 'sendDry': {
      const { expectedSize } = await sender(endpoint, options, op).sendDry(
        parseRequest(SendRequestSchema, req, op),
        signal,
      );
      return { expectedSize: String(Math.max(0, Math.floor(expectedSize))) };
    }
    case 'sendCompleted':
      await sender(endpoint, options, op).sendCompleted(
        parseRequest(SendRequestSchema, req, op),
        signal,
      );
      return {};
    case 'send':
      await serveSend(inbox, sender(endpoint, options, op), req, options, signal);
      return ANSWERED;
    case 'receive':
      await serveReceive(inbox, req, options, signal);
      return {};
    case 'destroySnapshots':
      if (options.role !== 'receiver') throw new RoleError(`this server serves a sender: no ${op}`);
      return destroyOn(endpoint, parseRequest(DestroySnapshotsRequestSchema, req, op), signal);
    default:
      throw new RequestError(`unknown request ${JSON.stringify(op)}`);
  }
}

async function serveSend(
  inbox: Inbox,
  endpoint: Sender,
  req: unknown,
  options: ChannelServeOptions,
  signal: AbortSignal,
): Promise<void> {
  const parsed = parseRequest(SendRequestSchema, req, 'send');
  const release = takePlace(options.limits?.sends, options.client);
  try {
    const { usedResumeToken, stream } = await endpoint.send(parsed, signal);
    inbox.channel.writeJson(FRAME.reply, { ok: true, value: { usedResumeToken } });
    try {
      await pumpFrames(stream, inbox.channel, {
        signal,
        idleMs: options.idleMs,
        stalled: () => new Error(`the client read nothing for ${options.idleMs} ms`),
      });
    } catch (err) {
      stream.destroy();
      // The client reads stream data now: the error ends the stream and the connection.
      throw new StreamFailure(err);
    }
  } finally {
    release?.();
  }
}

async function serveReceive(
  inbox: Inbox,
  req: unknown,
  options: ChannelServeOptions,
  signal: AbortSignal,
): Promise<void> {
  if (options.role !== 'receiver') {
    throw new StreamFailure(new RoleError('this server serves a sender: no receive'));
  }
  let release: (() => void) | undefined;
  try {
    const { header } = parseRequest(ReceiveRequestSchema, req, 'receive');
    release = takePlace(options.limits?.receives, options.client);
    const inbound = new FrameInbound(inbox, {
      idleMs: options.idleMs,
      stalled: () => new Error(`receive: no data from the client for ${options.idleMs} ms`),
      interrupted: () => new ProtocolError('receive: a control frame in the middle of the stream'),
      cutShort: (err, bytes) =>
        new Error(
          `receive: the stream was cut short after ${bytes} bytes (${errorMessage(err ?? 'the connection closed')})`,
        ),
      abandon: 'discard',
    });
    const onAbort = (): void => void inbound.destroy(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    // The receive (a `zfs recv`) starts only once its first bytes are here.
    const firstBytes = setTimeout(
      () =>
        inbound.destroy(
          new GrpcTimeoutError(`receive: no data from the client within ${options.firstByteMs} ms`),
        ),
      options.firstByteMs,
    );
    try {
      await inbound.awaitData();
      clearTimeout(firstBytes);
      await (options.endpoint as Receiver).receive(header, inbound, signal);
      if (!inbound.complete) throw new Error('receive: the receiver did not read the whole stream');
    } catch (err) {
      inbound.destroy();
      throw inbound.complete ? err : new StreamFailure(err);
    } finally {
      clearTimeout(firstBytes);
      signal.removeEventListener('abort', onAbort);
    }
  } catch (err) {
    throw err instanceof StreamFailure ? err : new StreamFailure(err);
  } finally {
    release?.();
  }
}

function takePlace(limiter: CallLimiter | undefined, client: string): (() => void) | undefined {
  if (limiter === undefined) return undefined;
  const release = limiter.tryAcquire(client);
  if (release === undefined) throw limiter.busy(client);
  return release;
}
