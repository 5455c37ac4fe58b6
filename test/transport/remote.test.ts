/**
 * The remote endpoints both transports share (src/transport/remote.ts), over a scripted
 * connection: waitForConnectivity's backoff, jitter and role check with the transport's own
 * words, and the validation of every answer.
 */
import { status } from '@grpc/grpc-js';
import type { FilesystemVersion } from '../../src/endpoints/types.js';
import { classifyError } from '../../src/errors/classify.js';
import { GrpcEndpointError } from '../../src/transport/errors.js';
import {
  RemoteReceiver,
  RemoteSender,
  type RemoteConnection,
  type RequestOp,
} from '../../src/transport/remote.js';

const never = new AbortController().signal;

function lost(): Error {
  return new GrpcEndpointError('remote: connection refused', status.UNAVAILABLE, 'refused');
}

/** A connection whose requests answer from `answer`, recording what was asked and when. */
function scripted(answer: (op: RequestOp, n: number) => unknown) {
  const asked: { op: RequestOp; at: number }[] = [];
  const events: string[] = [];
  const connection: RemoteConnection<void> = {
    address: 'remote://test',
    request: (op) => {
      asked.push({ op, at: Date.now() });
      events.push(op);
      try {
        return Promise.resolve(answer(op, asked.length));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    },
    send: () => Promise.reject(new Error('not scripted')),
    receive: () => Promise.reject(new Error('not scripted')),
    reconnect: { initialDelayMs: 200, maxDelayMs: 300, random: () => 0 },
    retrying: () => void events.push('retrying'),
    wrongRole: (served, expected) => `remote serves a ${served}, not a ${expected} (check X)`,
    close: () => undefined,
  };
  return { connection, asked, events };
}

describe('waitForConnectivity of a remote endpoint', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  test('a lost connection is retried with the transport backoff, doubling up to its maximum', async () => {
    const { connection, asked, events } = scripted((_op, n) => {
      if (n < 4) throw lost();
      return { role: 'RECEIVER' };
    });
    const waiting = new RemoteReceiver(connection).waitForConnectivity(never);
    await jest.advanceTimersByTimeAsync(1_000);
    await waiting;
    // random() = 0: each wait is half its delay (200, then 300, 300: the maximum).
    expect(asked.map((a) => a.at)).toEqual([0, 100, 250, 400]);
    expect(events).toEqual(['ping', 'retrying', 'ping', 'retrying', 'ping', 'retrying', 'ping']);
  });

  test('a remote serving the other role fails at once, in the transport words', async () => {
    const { connection, asked } = scripted(() => ({ role: 'RECEIVER' }));
    await expect(new RemoteSender(connection).waitForConnectivity(never)).rejects.toThrow(
      'remote serves a receiver, not a sender (check X)',
    );
    expect(asked).toHaveLength(1);
  });

  test('an abort during the backoff rejects with its reason', async () => {
    const { connection, asked } = scripted(() => {
      throw lost();
    });
    const abort = new AbortController();
    const waiting = new RemoteSender(connection).waitForConnectivity(abort.signal);
    const settled = waiting.catch((err: unknown) => err);
    await jest.advanceTimersByTimeAsync(50);
    abort.abort(new Error('stopped'));
    expect(await settled).toMatchObject({ message: 'stopped' });
    expect(asked).toHaveLength(1);
  });
});

describe('answers of a remote endpoint', () => {
  test('an answer that fails its schema is a permanent error naming the call', async () => {
    const { connection } = scripted(() => ({ versions: 'none' }));
    const err = await new RemoteReceiver(connection)
      .listFilesystemVersions('data', never)
      .catch((e: unknown) => e as Error);
    expect(err).toMatchObject({
      message: expect.stringMatching(/^remote:\/\/test: invalid listFilesystemVersions response/),
    });
    expect(classifyError(err)).toBe('permanent');
  });

  test('a valid answer is what the endpoint method returns, in the endpoint types', async () => {
    const { connection, asked } = scripted(() => ({ expectedSize: '42' }));
    const sender = new RemoteSender(connection);
    expect(await sender.sendDry({ filesystem: 'data', to: snapshot() }, never)).toEqual({
      expectedSize: 42,
    });
    expect(asked.map((a) => a.op)).toEqual(['sendDry']);
  });
});

function snapshot(): FilesystemVersion {
  return { type: 'snapshot', name: 's1', guid: '1', createTxg: '1', creation: new Date(0) };
}
