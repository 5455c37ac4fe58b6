/**
 * A server that stops answering (SIGSTOP, emulated by a freezing proxy) while filesystems are
 * queued: once keepalive has found the connection dead, the queued steps fail at once instead
 * of each waiting out the stream idle timeout, the attempt ends, and the driver's reconnect
 * wait (D2) takes over.
 */
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import type { Receiver } from '../../src/endpoints/types.js';
import { createPlanner } from '../../src/planner/index.js';
import { classifyError, replicate, type Planner } from '../../src/index.js';
import { grpcReceiver } from '../../src/transport/index.js';
import { config } from '../helpers/driver.js';
import { mismatches, Resources, sourceTree } from './helpers.js';
import { FreezingProxy } from './proxy.js';

const resources = new Resources();
let proxy: FreezingProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await resources.closeAll();
});

const NOT_STARTED = /not started: the connection was lost and is not back yet/;

/** A receiver served behind a proxy that freezes when the first receive reaches the server. */
async function freezesOnFirstReceive(dst: MemoryPool) {
  const inner = memoryReceiver(dst, 'backup');
  let receives = 0;
  const receiver: Receiver = {
    listFilesystems: (signal) => inner.listFilesystems(signal),
    listFilesystemVersions: (fs, signal) => inner.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => inner.waitForConnectivity(signal),
    receive(req, stream, signal) {
      if (receives++ === 0) proxy?.freeze();
      return inner.receive(req, stream, signal);
    },
  };
  const server = await resources.serveReceiver(receiver);
  proxy = new FreezingProxy(server.port);
  await proxy.start();
  return { url: `grpc://127.0.0.1:${proxy.port}`, receives: () => receives };
}

describe('D2 a connection known dead ends the attempt at once', () => {
  test('queued filesystems do not each wait for the stream idle timeout', async () => {
    const src = sourceTree({ snapshots: 2, size: 2_000_000 });
    const dst = new MemoryPool({ seed: 'dst' });
    const served = await freezesOnFirstReceive(dst);
    const receiver = resources.client(
      grpcReceiver(served.url, {
        keepaliveTimeMs: 100,
        keepaliveTimeoutMs: 200,
        // Far beyond the test's own timeout: a queued step that waited for it would hang the test.
        streamIdleTimeoutMs: 600_000,
        reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      }),
    );
    const planner = createPlanner(memorySender(src, 'tank'), receiver, { initial: 'all' });
    let waits = 0;
    const thawsOnReconnectWait: Planner = {
      plan: (signal) => planner.plan(signal),
      waitForConnectivity(signal) {
        // The operator's SIGCONT: the server answers again.
        if (waits++ === 0) proxy?.thaw();
        return planner.waitForConnectivity(signal);
      },
    };
    const report = await replicate(
      config({ stepQueueConcurrency: 1, maxAttempts: 3, reconnectHardFailTimeoutMs: 60_000 }),
      thawsOnReconnectWait,
    ).wait();

    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(2);
    expect(waits).toBe(1);
    const first = report.attempts[0]!;
    const errors = first.filesystems.flatMap((fs) => {
      const error = fs.stepError ?? fs.planError;
      return error === null ? [] : [error.err];
    });
    // One step ran into the dead connection; every other filesystem of the attempt that
    // still had work failed at once, without a call on the dead connection.
    // (Children of a failed filesystem fail for their parent, D6, without a call either.)
    const calls = errors.filter((err) => !/^parent\(s\) failed/.test(err));
    const discovered = calls.filter((err) => !NOT_STARTED.test(err));
    expect(discovered).toHaveLength(1);
    expect(discovered[0]).toMatch(/receive: connection failed/);
    expect(calls.length - discovered.length).toBeGreaterThanOrEqual(2);
    expect(served.receives()).toBe(1 + countSteps(report.attempts[1]!));
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });

  test('a call not started on a lost connection is a temporary connectivity error', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    const served = await freezesOnFirstReceive(dst);
    const receiver = resources.client(
      grpcReceiver(served.url, { keepaliveTimeMs: 100, keepaliveTimeoutMs: 200 }),
    );
    const sender = memorySender(sourceTree({ snapshots: 1, size: 2_000_000 }), 'tank');
    const never = new AbortController().signal;
    const [to] = await sender.listFilesystemVersions('data', never);
    const { stream } = await sender.send({ filesystem: 'data', to: to! }, never);
    const lost = await receiver
      .receive({ filesystem: 'data', to: to!, clearResumeToken: false }, stream, never)
      .catch((err: unknown) => err as Error);
    expect(lost).toMatchObject({ message: expect.stringMatching(/connection failed/) });

    const err = await receiver.listFilesystems(never).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ message: expect.stringMatching(NOT_STARTED) });
    expect(classifyError(err)).toBe('temporary-connectivity');

    // Once the server answers a ping again, calls go through.
    proxy?.thaw();
    await receiver.waitForConnectivity(never);
    expect(await receiver.listFilesystems(never)).toEqual([]);
  });
});

/** Steps the attempt ran to completion. */
function countSteps(attempt: { filesystems: { currentStep: number }[] }): number {
  return attempt.filesystems.reduce((n, fs) => n + fs.currentStep, 0);
}
