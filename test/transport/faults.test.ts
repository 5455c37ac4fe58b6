/**
 * The fault matrix of the transport: what the client sees when the connection is refused, the
 * server stalls, a stream is corrupt, the receiver's disk is full, or a client sends hostile
 * paths. Connection problems classify as temporary-connectivity (the driver retries, D9);
 * everything else is permanent and says what happened.
 */
import { Transform } from 'node:stream';
import { Client, Metadata, status, credentials } from '@grpc/grpc-js';
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import type { Receiver, Sender } from '../../src/endpoints/types.js';
import { createPlanner } from '../../src/planner/index.js';
import { classifyError, replicate, type Planner } from '../../src/index.js';
import { grpcReceiver, grpcSender, MAX_CHUNK_BYTES } from '../../src/transport/index.js';
import { METHODS } from '../../src/transport/protocol.js';
import { versionToWire } from '../../src/transport/wire.js';
import { config } from '../helpers/driver.js';
import { deferred } from '../helpers/deferred.js';
import { at, drain, mismatches, Resources, sourceTree } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());
const never = new AbortController().signal;

/** A port nothing listens on: a server's, after it was killed. */
async function deadPort(): Promise<number> {
  const server = await resources.serveReceiver(memoryReceiver(new MemoryPool(), 'backup'));
  await server.kill();
  return server.port;
}

/** Settles with what `promise` rejected with (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(outcome instanceof Error)) throw new Error(`expected a rejection, got ${String(outcome)}`);
  return outcome;
}

/** An endpoint method that waits until the test ends or the call is aborted. */
function stalls(release: Promise<void>) {
  return (signal: AbortSignal): Promise<never> =>
    new Promise((_resolve, reject) => {
      const abort = (): void => reject(signal.reason);
      signal.addEventListener('abort', abort, { once: true });
      void release.then(() => reject(new Error('released')));
    });
}

describe('refused connection', () => {
  test('calls reject with UNAVAILABLE, which the driver retries', async () => {
    const receiver = resources.client(grpcReceiver(`grpc://127.0.0.1:${await deadPort()}`));
    const err = await rejection(receiver.listFilesystems(never));
    expect(err).toMatchObject({ code: status.UNAVAILABLE });
    expect(err.message).toMatch(/^grpc:\/\/127\.0\.0\.1:\d+: listFilesystems: connection failed/);
    expect(classifyError(err)).toBe('temporary-connectivity');
  });

  test('an address no server can have is refused before connecting', () => {
    expect(() => grpcReceiver('grpc://127.0.0.1:0')).toThrow(/port 0 means "any free port"/);
    expect(() => grpcSender(`${'h'.repeat(300)}:7000`)).toThrow(/at most 253 characters/);
    expect(() => grpcSender('[::g]:7000')).toThrow(/invalid gRPC address/);
  });

  test('the run waits for connectivity and completes once the server is up', async () => {
    const src = sourceTree({ snapshots: 2 });
    const dst = new MemoryPool({ seed: 'dst' });
    const port = await deadPort();
    const receiver = resources.client(
      grpcReceiver(`grpc://127.0.0.1:${port}`, {
        reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
      }),
    );
    const planner = createPlanner(memorySender(src, 'tank'), receiver, { initial: 'all' });
    let probes = 0;
    const startsServerOnFirstWait: Planner = {
      plan: (signal) => planner.plan(signal),
      async waitForConnectivity(signal) {
        if (probes++ === 0) {
          await resources.serve({
            listen: `127.0.0.1:${port}`,
            role: 'receiver',
            endpoint: memoryReceiver(dst, 'backup'),
          });
        }
        return planner.waitForConnectivity(signal);
      },
    };
    const report = await replicate(
      config({ maxAttempts: 3, reconnectHardFailTimeoutMs: 30_000 }),
      startsServerOnFirstWait,
    ).wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(2);
    expect(report.attempts[0]?.planError?.err).toMatch(/connection failed/);
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });

  test('waitForConnectivity keeps retrying until its signal aborts', async () => {
    const controller = new AbortController();
    const attempts: number[] = [];
    let n = 0;
    // Abort after the third backoff has been drawn: the jitter source counts the retries.
    const client = resources.client(
      grpcReceiver(`grpc://127.0.0.1:${await deadPort()}`, {
        reconnect: { initialDelayMs: 1, maxDelayMs: 2 },
        random: () => {
          attempts.push(++n);
          if (n === 3) controller.abort(new Error('gave up'));
          return 0;
        },
      }),
    );
    const err = await rejection(client.waitForConnectivity(controller.signal));
    expect(err.message).toBe('gave up');
    expect(attempts).toEqual([1, 2, 3]);
  });
});

describe('server stall', () => {
  test('a unary call past its deadline fails as a network timeout', async () => {
    const release = deferred();
    const inner = memorySender(sourceTree(), 'tank');
    const stalled: Sender = { ...bind(inner), listFilesystems: stalls(release.promise) };
    const server = await resources.serve({
      listen: '127.0.0.1:0',
      role: 'sender',
      endpoint: stalled,
    });
    const sender = resources.client(grpcSender(server.url, { callTimeoutMs: 50 }));
    const err = await rejection(sender.listFilesystems(never));
    release.resolve();
    expect(err).toMatchObject({ code: 'ETIMEDOUT', timeout: true });
    expect(err.message).toMatch(/listFilesystems: no answer before the deadline/);
    expect(classifyError(err)).toBe('temporary-connectivity');
  });

  test('a send stream that stops mid-way fails as a network timeout', async () => {
    const src = sourceTree({ size: 1_000_000 });
    const inner = memorySender(src, 'tank');
    const release = deferred();
    const serverSideClosed = deferred();
    const stalled: Sender = {
      ...bind(inner),
      async send(req, signal) {
        const { stream } = await inner.send(req, signal);
        // The first 100 kB, then nothing: the server's process hangs.
        let sent = 0;
        const hang = new Transform({
          transform(chunk: Buffer, _enc, callback) {
            if (sent >= 100_000) return void release.promise.then(() => callback());
            sent += chunk.length;
            callback(null, chunk);
          },
        });
        stream.once('error', (err) => hang.destroy(err));
        hang.once('close', () => {
          stream.destroy();
          serverSideClosed.resolve();
        });
        return { usedResumeToken: false, stream: stream.pipe(hang) };
      },
    };
    const server = await resources.serve({
      listen: '127.0.0.1:0',
      role: 'sender',
      endpoint: stalled,
    });
    const sender = resources.client(grpcSender(server.url, { streamIdleTimeoutMs: 100 }));
    const [version] = await sender.listFilesystemVersions('data', never);
    const { stream } = await sender.send({ filesystem: 'data', to: version! }, never);
    const err = await rejection(drain(stream));
    // The client's cancel reaches the server, which ends the stalled send.
    await serverSideClosed.promise;
    release.resolve();
    expect(err).toMatchObject({ code: 'ETIMEDOUT', timeout: true });
    expect(err.message).toMatch(/send: no progress for 100 ms \(the peer stalled\)/);
    expect(classifyError(err)).toBe('temporary-connectivity');
  });

  test('a receiver that stops reading fails the receive as a network timeout', async () => {
    const release = deferred();
    const dst = new MemoryPool({ seed: 'dst' });
    const inner = memoryReceiver(dst, 'backup');
    const stalled: Receiver = {
      ...bind(inner),
      receive: (_req, _stream, signal) => stalls(release.promise)(signal),
    };
    const server = await resources.serveReceiver(stalled);
    const receiver = resources.client(grpcReceiver(server.url, { streamIdleTimeoutMs: 100 }));
    const src = sourceTree({ size: 20_000_000 });
    const sender = memorySender(src, 'tank');
    const [to] = await sender.listFilesystemVersions('data', never);
    const { stream } = await sender.send({ filesystem: 'data', to: to! }, never);
    const err = await rejection(
      receiver.receive({ filesystem: 'data', to: to!, clearResumeToken: false }, stream, never),
    );
    release.resolve();
    expect(err).toMatchObject({ code: 'ETIMEDOUT', timeout: true });
    expect(err.message).toMatch(/receive: no progress for 100 ms/);
    expect(stream.destroyed).toBe(true);
    expect(dst.paths()).toEqual([]);
  });
});

describe('corrupt stream', () => {
  test('the receiver rejects it with a clear permanent error and applies nothing', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    const server = await resources.serveReceiver(memoryReceiver(dst, 'backup'));
    const receiver = resources.client(grpcReceiver(server.url));
    const sender = memorySender(sourceTree(), 'tank');
    const [to] = await sender.listFilesystemVersions('data', never);
    const { stream } = await sender.send({ filesystem: 'data', to: to! }, never);
    let seen = 0;
    const flipsAByte = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        const copy = Buffer.from(chunk);
        const i = 50_000 - seen;
        if (i >= 0 && i < copy.length) copy[i] = (copy[i] as number) ^ 0xff;
        seen += copy.length;
        callback(null, copy);
      },
    });
    const err = await rejection(
      receiver.receive(
        { filesystem: 'data', to: to!, clearResumeToken: false },
        stream.pipe(flipsAByte),
        never,
      ),
    );
    expect(err.message).toMatch(
      /cannot receive into backup\/data: stream corrupted at payload byte/,
    );
    expect(classifyError(err)).toBe('permanent');
    expect(dst.get('backup/data')?.snapshots ?? []).toEqual([]);
    expect(dst.get('backup/data')?.partial).toBeUndefined();
  });

  test('a server answering with malformed messages is refused at the edge', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    dst.createDataset('backup/data');
    dst.snapshot('backup/data', 's1', { creation: at(1) });
    // A receiver whose listing breaks the protocol: a guid that is not a uint64.
    const inner = memoryReceiver(dst, 'backup');
    const lying: Receiver = {
      ...bind(inner),
      listFilesystemVersions: async (fs, signal) =>
        (await inner.listFilesystemVersions(fs, signal)).map((v) => ({ ...v, guid: '-1' })),
    };
    const server = await resources.serveReceiver(lying);
    const receiver = resources.client(grpcReceiver(server.url));
    const err = await rejection(receiver.listFilesystemVersions('data', never));
    expect(err.message).toMatch(
      /invalid listFilesystemVersions response: versions\.0\.guid: must be a uint64/,
    );
    expect(classifyError(err)).toBe('permanent');
  });
});

describe('disk full on the receiver', () => {
  test("the run fails at once with the receiver's own message, nothing half-applied", async () => {
    const src = sourceTree({ snapshots: 1, size: 300_000 });
    const dst = new MemoryPool({ seed: 'dst' });
    const inner = memoryReceiver(dst, 'backup');
    const outOfSpace = Object.assign(
      new Error('cannot receive new filesystem stream: out of space'),
      { code: 'ENOSPC' },
    );
    inner.faults.failAfterBytes(150_000, outOfSpace);
    const server = await resources.serveReceiver(inner);
    const receiver = resources.client(grpcReceiver(server.url));
    const planner = createPlanner(memorySender(src, 'tank'), receiver);
    const report = await replicate(config({ maxAttempts: 5 }), planner).wait();
    expect(report.state).toBe('failed');
    expect(report.attempts).toHaveLength(1);
    const errors = report.attempts[0]!.filesystems.flatMap((fs) =>
      fs.stepError ? [fs.stepError.err] : [],
    );
    expect(errors).toContainEqual(
      expect.stringContaining('cannot receive new filesystem stream: out of space'),
    );
    const applied = dst.paths().filter((p) => (dst.get(p)?.snapshots.length ?? 0) > 0);
    expect(applied.length).toBeLessThan(src.paths().length);
    for (const p of dst.paths()) expect(dst.get(p)?.partial).toBeUndefined();
  });
});

describe('hostile paths from a client', () => {
  const hostile = ['../escape', '/etc', 'a//b', 'data/../../x', 'data@snap', 'x#y', 'a\nb', '.'];

  test.each(hostile)('receive into %j is refused, nothing written', async (path) => {
    const dst = new MemoryPool({ seed: 'dst' });
    dst.createDataset('other/secret');
    const server = await resources.serveReceiver(memoryReceiver(dst, 'backup'));
    const before = dst.toFixture();
    const sender = memorySender(sourceTree({ snapshots: 1 }), 'tank');
    const [to] = await sender.listFilesystemVersions('data', never);
    const { stream } = await sender.send({ filesystem: 'data', to: to! }, never);
    const receiver = resources.client(grpcReceiver(server.url));
    const err = await rejection(
      receiver.receive({ filesystem: path, to: to!, clearResumeToken: false }, stream, never),
    );
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(err.message).toMatch(/invalid receive request: header\.filesystem: /);
    expect(classifyError(err)).toBe('permanent');
    expect(dst.toFixture()).toEqual(before);
  });

  test('listing outside the root is refused', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    dst.createDataset('other/secret');
    dst.snapshot('other/secret', 's1', { creation: at(1) });
    const server = await resources.serveReceiver(memoryReceiver(dst, 'backup'));
    const receiver = resources.client(grpcReceiver(server.url));
    const err = await rejection(receiver.listFilesystemVersions('../other/secret', never));
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(err.message).toMatch(/"\.\." component/);
  });

  test('a message over the size limit is refused before the endpoint sees it', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    const server = await resources.serveReceiver(memoryReceiver(dst, 'backup'));
    // A raw client without our chunking: one chunk of twice the limit.
    const raw = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
    const m = METHODS.receive;
    const outcome = deferred<{ code: number; details: string } | null>();
    const call = raw.makeClientStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      new Metadata(),
      {},
      (err) => outcome.resolve(err ? { code: err.code, details: err.details } : null),
    );
    const to = versionToWire({
      type: 'snapshot',
      name: 's1',
      guid: '1',
      createTxg: '1',
      creation: at(1),
    });
    call.write({ header: { filesystem: 'data', to, clearResumeToken: false } });
    call.write({ chunk: Buffer.alloc(2 * MAX_CHUNK_BYTES + 1) });
    call.end();
    const result = await outcome.promise;
    raw.close();
    expect(result?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(dst.paths()).toEqual([]);
  });
});

/** The Endpoint methods of `endpoint`, bound, to spread into a partial override. */
function bind(endpoint: Sender): Sender;
function bind(endpoint: Receiver): Receiver;
function bind(endpoint: Sender | Receiver): Sender | Receiver {
  const bound: Record<string, unknown> = {};
  for (const name of [
    'listFilesystems',
    'listFilesystemVersions',
    'waitForConnectivity',
    'sendDry',
    'send',
    'sendCompleted',
    'receive',
  ]) {
    const fn = (endpoint as unknown as Record<string, unknown>)[name];
    if (typeof fn === 'function') bound[name] = fn.bind(endpoint);
  }
  return bound as unknown as Sender | Receiver;
}
