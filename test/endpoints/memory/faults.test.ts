import { getEventListeners } from 'node:events';
import {
  MemoryPool,
  memoryReceiver,
  memorySender,
  type MemorySender,
} from '../../../src/endpoints/memory/index.js';
import { collect, signal, sourcePool, transfer } from './helpers.js';

const fakeTimers = (): void => {
  // Streams need the real nextTick/setImmediate; only the endpoint's timers are faked.
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
};

afterEach(() => {
  jest.useRealTimers();
});

describe('fail after N bytes', () => {
  test('the next send stream breaks with ECONNRESET after exactly N bytes; the one after is whole', async () => {
    const { pool, a } = sourcePool();
    const sender = memorySender(pool, 'tank');
    sender.faults.failAfterBytes(1000);
    const { stream } = await sender.send({ filesystem: 'data', to: a }, signal());
    let got = 0;
    stream.on('data', (chunk: Buffer) => (got += chunk.length));
    await expect(collect(stream)).rejects.toMatchObject({
      code: 'ECONNRESET',
      message: expect.stringContaining('after 1000 bytes'),
    });
    expect(got).toBe(1000);
    const again = await collect(
      (await sender.send({ filesystem: 'data', to: a }, signal())).stream,
    );
    expect(again.length).toBe(
      (await sender.sendDry({ filesystem: 'data', to: a }, signal())).expectedSize,
    );
  });

  test('with "unavailable" the error is gRPC-shaped: code 14, details, metadata', async () => {
    const { pool, a } = sourcePool();
    const sender = memorySender(pool, 'tank');
    sender.faults.failAfterBytes(10, 'unavailable');
    const { stream } = await sender.send({ filesystem: 'data', to: a }, signal());
    await expect(collect(stream)).rejects.toMatchObject({
      code: 14,
      details: 'connection dropped after 10 bytes',
      metadata: {},
    });
  });

  test('a given Error is used as it is', async () => {
    const { pool, a } = sourcePool();
    const sender = memorySender(pool, 'tank');
    const custom = Object.assign(new Error('custom'), { code: 'ETIMEDOUT' });
    sender.faults.failAfterBytes(0, custom);
    await expect(
      collect((await sender.send({ filesystem: 'data', to: a }, signal())).stream),
    ).rejects.toBe(custom);
  });
});

describe('connection drop', () => {
  test('calls reject with UNAVAILABLE, running streams break, waitForConnectivity waits for restore', async () => {
    const { pool, a } = sourcePool();
    const sender = memorySender(pool, 'tank');
    const { stream } = await sender.send({ filesystem: 'data', to: a }, signal());
    const broken = collect(stream);
    sender.faults.drop();
    await expect(broken).rejects.toMatchObject({ code: 14, details: 'connection dropped' });
    await expect(sender.listFilesystems(signal())).rejects.toMatchObject({ code: 14 });

    let connected = false;
    const waiting = sender.waitForConnectivity(signal()).then(() => (connected = true));
    await Promise.resolve();
    expect(connected).toBe(false);
    sender.faults.restore();
    await waiting;
    expect(connected).toBe(true);
    expect(await sender.listFilesystems(signal())).toHaveLength(2); // tank and tank/data
  });

  test('waitForConnectivity while dropped is abortable and leaves no listener', async () => {
    const sender = memorySender(new MemoryPool({ seed: 1 }));
    sender.faults.drop();
    const controller = new AbortController();
    const waiting = sender.waitForConnectivity(controller.signal);
    const reason = new Error('give up');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('a drop on the receiver breaks the receive in progress', async () => {
    const { pool, a } = sourcePool();
    const receiver = memoryReceiver(new MemoryPool({ seed: 'dst' }), 'backup', { resumable: true });
    const sender = memorySender(pool, 'tank');
    const { stream } = await sender.send({ filesystem: 'data', to: a }, signal());
    stream.once('data', () => receiver.faults.drop());
    await expect(
      receiver.receive({ filesystem: 'data', to: a, clearResumeToken: true }, stream, signal()),
    ).rejects.toMatchObject({ code: 14 });
  });
});

describe('failNext', () => {
  test('the next call of the method rejects with the given error, the one after succeeds', async () => {
    const { pool, a } = sourcePool();
    const sender = memorySender(pool, 'tank');
    const err = { code: 14, details: 'flaky', metadata: {} };
    sender.faults.failNext('sendDry', err);
    await expect(sender.sendDry({ filesystem: 'data', to: a }, signal())).rejects.toBe(err);
    await expect(sender.sendDry({ filesystem: 'data', to: a }, signal())).resolves.toEqual({
      expectedSize: expect.any(Number),
    });
    await expect(sender.listFilesystems(signal())).resolves.toHaveLength(2);
  });
});

describe('latency and throttle (fake timers)', () => {
  test('latency delays every call by its ms', async () => {
    fakeTimers();
    const sender = memorySender(sourcePool().pool, 'tank');
    sender.faults.setLatency(500);
    let done = false;
    const listing = sender.listFilesystems(signal()).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await listing;
    expect(done).toBe(true);
  });

  test('an abort during the latency rejects at once and clears the timer', async () => {
    fakeTimers();
    const sender = memorySender(sourcePool().pool, 'tank');
    sender.faults.setLatency(10_000);
    const controller = new AbortController();
    const listing = sender.listFilesystems(controller.signal);
    controller.abort(new Error('stop'));
    await expect(listing).rejects.toThrow('stop');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a throttled stream takes size / rate seconds', async () => {
    fakeTimers();
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('p');
    const snap = pool.snapshot('p', 's', { size: 100_000 });
    const sender: MemorySender = memorySender(pool);
    sender.faults.setThrottle(50_000);
    const total = (await sender.sendDry({ filesystem: 'p', to: snap }, signal())).expectedSize;
    const { stream } = await sender.send({ filesystem: 'p', to: snap }, signal());
    let got = 0;
    stream.on('data', (chunk: Buffer) => (got += chunk.length));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    await jest.advanceTimersByTimeAsync(1000);
    expect(got).toBeGreaterThan(40_000);
    expect(got).toBeLessThan(60_000);
    await jest.advanceTimersByTimeAsync(1100);
    await ended;
    expect(got).toBe(total);
  });

  test('destroying a throttled stream clears its timer', async () => {
    fakeTimers();
    const { pool, a } = sourcePool();
    const sender = memorySender(pool, 'tank');
    sender.faults.setThrottle(10);
    const { stream } = await sender.send({ filesystem: 'data', to: a }, signal());
    stream.resume();
    await jest.advanceTimersByTimeAsync(0);
    expect(jest.getTimerCount()).toBe(1);
    stream.destroy();
    expect(jest.getTimerCount()).toBe(0);
  });

  test('reset clears every fault', async () => {
    const { pool, a } = sourcePool();
    const dst = new MemoryPool({ seed: 'dst' });
    const sender = memorySender(pool, 'tank');
    sender.faults.setLatency(100);
    sender.faults.setThrottle(1);
    sender.faults.failAfterBytes(1);
    sender.faults.failNext('send', new Error('x'));
    sender.faults.drop();
    sender.faults.reset();
    await transfer(sender, memoryReceiver(dst, 'backup'), { filesystem: 'data', to: a });
    expect(dst.get('backup/data')?.snapshots.map((s) => s.guid)).toEqual([a.guid]);
  });
});
