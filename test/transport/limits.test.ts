/**
 * One client cannot exhaust the server: Receive and Send streams are bounded per client
 * identity and overall, the excess is refused at once with a status the client classifies
 * temporary (the driver retries, D2/D14), and a receive starts only once its first bytes
 * arrive (a client that sends nothing holds its place only until the first-byte deadline).
 * Sessions are counted through injected endpoints, not processes.
 */
import { PassThrough, type Readable } from 'node:stream';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import type { FilesystemVersion, Receiver, Sender } from '../../src/endpoints/types.js';
import { classifyError } from '../../src/index.js';
import { CallLimiter, resolveLimits } from '../../src/transport/limits.js';
import { METHODS } from '../../src/transport/protocol.js';
import {
  grpcReceiver,
  grpcSender,
  loadClientTls,
  type ServerLimits,
} from '../../src/transport/index.js';
import type { Logger } from '../../src/driver/types.js';
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import { createPlanner } from '../../src/planner/index.js';
import { replicate } from '../../src/index.js';
import { config } from '../helpers/driver.js';
import { deferred, until } from '../helpers/deferred.js';
import { createTestPki, type TestPki } from './certs.js';
import { at, drain, mismatches, Resources, sourceTree } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());
const never = new AbortController().signal;

const version: FilesystemVersion = {
  type: 'snapshot',
  name: 's1',
  guid: '1',
  createTxg: '1',
  creation: at(1),
};
const receiveReq = { filesystem: 'data', to: version, clearResumeToken: false };

/** A receiver that counts the receives it starts; each reads its stream to the end. */
function countingReceiver(): Receiver & { started: number; bytes: number } {
  const counter = {
    started: 0,
    bytes: 0,
    listFilesystems: () => Promise.resolve([]),
    listFilesystemVersions: () => Promise.resolve([]),
    waitForConnectivity: () => Promise.resolve(),
    async receive(_req: unknown, stream: Readable): Promise<void> {
      counter.started++;
      counter.bytes += await drain(stream);
    },
  };
  return counter;
}

/** A sender that counts the sends it starts; each stream yields one chunk and then waits. */
function countingSender(): Sender & { started: number; streams: PassThrough[] } {
  const counter = {
    started: 0,
    streams: [] as PassThrough[],
    listFilesystems: () => Promise.resolve([]),
    listFilesystemVersions: () => Promise.resolve([]),
    waitForConnectivity: () => Promise.resolve(),
    sendDry: () => Promise.resolve({ expectedSize: 0 }),
    sendCompleted: () => Promise.resolve(),
    send(): Promise<{ usedResumeToken: boolean; stream: Readable }> {
      counter.started++;
      const stream = new PassThrough();
      stream.write(Buffer.from('zfs stream'));
      counter.streams.push(stream);
      return Promise.resolve({ usedResumeToken: false, stream });
    },
  };
  return counter;
}

/** A client's stream that has sent its first bytes and then waits until ended. */
function idleStream(): PassThrough {
  const stream = new PassThrough();
  stream.write(Buffer.from('first bytes'));
  return stream;
}

/** A logger that keeps the status code of every failed call. */
function codesLogger(): Logger & { codes: string[] } {
  const codes: string[] = [];
  const none = (): void => undefined;
  return {
    codes,
    debug: none,
    info: none,
    error: none,
    warn: (obj: unknown) => codes.push(String((obj as { code?: unknown }).code)),
  };
}

async function serveReceiver(receiver: Receiver, limits: ServerLimits, logger = codesLogger()) {
  return resources.serve({
    listen: '127.0.0.1:0',
    role: 'receiver',
    endpoint: receiver,
    limits,
    logger,
  });
}

/** Settles every promise; counts the rejections as they come. */
function track(promises: Promise<unknown>[]): { rejected: unknown[]; resolved: number } {
  const outcome = { rejected: [] as unknown[], resolved: 0 };
  for (const p of promises) {
    p.then(
      () => outcome.resolved++,
      (err: unknown) => outcome.rejected.push(err),
    );
  }
  return outcome;
}

describe('CallLimiter', () => {
  test('at most perClient places per client and total over all', () => {
    const limiter = new CallLimiter('receive', 3, 2);
    const a1 = limiter.tryAcquire('a');
    const a2 = limiter.tryAcquire('a');
    expect(a1).toBeDefined();
    expect(a2).toBeDefined();
    expect(limiter.tryAcquire('a')).toBeUndefined();
    expect(limiter.busy('a').message).toMatch(/this client already runs 2 receive streams/);
    expect(limiter.tryAcquire('b')).toBeDefined();
    expect(limiter.tryAcquire('c')).toBeUndefined();
    expect(limiter.busy('c').message).toMatch(/3 receive streams run already/);
    a1?.();
    a1?.(); // a second release gives nothing back twice
    expect(limiter.size).toBe(2);
    expect(limiter.tryAcquire('c')).toBeDefined();
    expect(limiter.tryAcquire('c')).toBeUndefined();
  });

  test('a refusal is a temporary error: the client retries later', () => {
    expect(classifyError(new CallLimiter('send', 1, 1).busy('a'))).toBe('temporary-connectivity');
  });

  test('limits must be positive integers', () => {
    expect(resolveLimits()).toEqual({
      receives: 6,
      receivesPerClient: 4,
      sends: 6,
      sendsPerClient: 4,
      firstByteTimeoutMs: 10_000,
    });
    expect(() => resolveLimits({ receives: 0 })).toThrow(/invalid server limit receives: 0/);
    expect(() => resolveLimits({ sendsPerClient: 1.5 })).toThrow(/sendsPerClient: 1.5/);
  });
});

describe('a flood of Receive streams', () => {
  test('50 idle streams from one client against a limit of 4: 4 receives start, 46 are refused', async () => {
    const receiver = countingReceiver();
    const logger = codesLogger();
    const server = await serveReceiver(receiver, { receivesPerClient: 4 }, logger);
    const client = resources.client(grpcReceiver(server.url));
    const streams = Array.from({ length: 50 }, idleStream);
    const calls = track(streams.map((s) => client.receive(receiveReq, s, never)));

    await until(() => calls.rejected.length === 46 && receiver.started === 4, 10_000);
    for (const err of calls.rejected) {
      expect(classifyError(err)).toBe('temporary-connectivity');
      expect((err as Error).message).toMatch(/the server is busy: this client already runs 4/);
    }
    expect(logger.codes.filter((c) => c === 'RESOURCE_EXHAUSTED')).toHaveLength(46);

    // The 4 admitted ones finish; their places are free again.
    for (const s of streams) s.end();
    await until(() => calls.resolved === 4, 10_000);
    expect(receiver.started).toBe(4);
    await client.receive(receiveReq, idleStream().end(), never);
    expect(receiver.started).toBe(5);
  });

  test('the overall limit holds across identities, the per-client one for each', async () => {
    const pki: TestPki = createTestPki();
    try {
      const receiver = countingReceiver();
      const server = await resources.serve({
        listen: '127.0.0.1:0',
        role: 'receiver',
        endpoint: receiver,
        tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert },
        limits: { receives: 3, receivesPerClient: 2 },
      });
      const as = async (cn: string) => {
        const pem = pki.client(cn);
        const tls = await loadClientTls({
          ca: pki.ca.certFile,
          cert: pem.certFile,
          key: pem.keyFile,
        });
        return resources.client(grpcReceiver(server.url, { tls }));
      };
      const [alice, bob] = [await as('alice'), await as('bob')];
      const streams = Array.from({ length: 4 }, idleStream);
      const aliceCalls = track(streams.slice(0, 3).map((s) => alice.receive(receiveReq, s, never)));
      await until(() => aliceCalls.rejected.length === 1 && receiver.started === 2, 10_000);
      expect((aliceCalls.rejected[0] as Error).message).toMatch(/this client already runs 2/);

      const bobCalls = track(streams.slice(3).map((s) => bob.receive(receiveReq, s, never)));
      await until(() => receiver.started === 3, 10_000);
      const bobRefused = track([bob.receive(receiveReq, idleStream(), never)]);
      await until(() => bobRefused.rejected.length === 1, 10_000);
      expect((bobRefused.rejected[0] as Error).message).toMatch(/3 receive streams run already/);
      expect(classifyError(bobRefused.rejected[0])).toBe('temporary-connectivity');

      for (const s of streams) s.end();
      await until(() => aliceCalls.resolved === 2 && bobCalls.resolved === 1, 10_000);
    } finally {
      pki.remove();
    }
  });
});

describe('the driver retries what the limit refused', () => {
  test('4 steps at once against a limit of 1: refused steps come back in later attempts, the run ends done', async () => {
    const src = sourceTree({ snapshots: 2 });
    const dst = new MemoryPool({ seed: 'dst' });
    // The first receive waits until another step has been refused, so a refusal surely happens.
    const refused = deferred();
    const logger = codesLogger();
    const warn = logger.warn;
    logger.warn = (obj) => {
      warn(obj);
      refused.resolve();
    };
    const inner = memoryReceiver(dst, 'backup');
    const gated: Receiver = {
      listFilesystems: (signal) => inner.listFilesystems(signal),
      listFilesystemVersions: (fs, signal) => inner.listFilesystemVersions(fs, signal),
      waitForConnectivity: (signal) => inner.waitForConnectivity(signal),
      async receive(req, stream, signal) {
        await refused.promise;
        return inner.receive(req, stream, signal);
      },
    };
    const server = await serveReceiver(gated, { receivesPerClient: 1 }, logger);
    const receiver = resources.client(grpcReceiver(server.url));
    const report = await replicate(
      config({ stepQueueConcurrency: 4, maxAttempts: 20 }),
      createPlanner(memorySender(src, 'tank'), receiver, { initial: 'all' }),
    ).wait();
    expect(report.state).toBe('done');
    expect(logger.codes).toContain('RESOURCE_EXHAUSTED');
    expect(report.attempts.length).toBeGreaterThan(1);
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });
});

describe('a receive starts only when its first bytes arrive', () => {
  test('a stream that sends its header but no data never starts a receive and gives its place back', async () => {
    const receiver = countingReceiver();
    const server = await serveReceiver(receiver, { receivesPerClient: 1, firstByteTimeoutMs: 50 });
    const client = resources.client(grpcReceiver(server.url));
    const silent = new PassThrough(); // never written
    const err = await client.receive(receiveReq, silent, never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/receive: no data from the client within 50 ms/);
    expect(classifyError(err)).toBe('temporary-connectivity');
    expect(receiver.started).toBe(0);

    await client.receive(receiveReq, idleStream().end(), never);
    expect(receiver.started).toBe(1);
    expect(receiver.bytes).toBe('first bytes'.length);
  });

  test('a call that sends nothing at all, not even a header, is ended at the deadline', async () => {
    const receiver = countingReceiver();
    const server = await serveReceiver(receiver, { firstByteTimeoutMs: 50 });
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
    try {
      expect(await outcome.promise).toEqual({
        code: status.UNAVAILABLE,
        details: 'receive: no data from the client within 50 ms',
      });
      expect(receiver.started).toBe(0);
    } finally {
      call.end();
      raw.close();
    }
  });

  test('an empty stream (header, then the end) still reaches the receiver', async () => {
    const receiver = countingReceiver();
    const server = await serveReceiver(receiver, {});
    const client = resources.client(grpcReceiver(server.url));
    await client.receive(receiveReq, new PassThrough().end(), never);
    expect(receiver.started).toBe(1);
    expect(receiver.bytes).toBe(0);
  });
});

describe('a flood of Send streams', () => {
  test('5 sends from one client against a limit of 2: 2 start, 3 are refused', async () => {
    const sender = countingSender();
    const server = await resources.serve({
      listen: '127.0.0.1:0',
      role: 'sender',
      endpoint: sender,
      limits: { sendsPerClient: 2 },
    });
    const client = resources.client(grpcSender(server.url));
    const calls = Array.from({ length: 5 }, () =>
      client.send({ filesystem: 'data', to: version }, never),
    );
    const settled = await Promise.allSettled(calls);
    const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stream] : []));
    const refused = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []));
    expect(started).toHaveLength(2);
    expect(sender.started).toBe(2);
    expect(refused).toHaveLength(3);
    for (const err of refused) {
      expect(err.message).toMatch(/this client already runs 2 send streams/);
      expect(classifyError(err)).toBe('temporary-connectivity');
    }
    // The sends end; their places are free again.
    for (const s of sender.streams) s.end();
    for (const s of started) await drain(s);
    const again = await client.send({ filesystem: 'data', to: version }, never);
    sender.streams.at(-1)?.end();
    expect(await drain(again.stream)).toBe('zfs stream'.length);
    expect(sender.started).toBe(3);
  });
});
