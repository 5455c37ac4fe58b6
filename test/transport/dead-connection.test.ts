/**
 * A server that stops answering (SIGSTOP, emulated by a freezing proxy) while filesystems are
 * queued: once keepalive has found the connection dead, the queued steps fail at once instead
 * of each waiting out the stream idle timeout, the attempt ends, and the driver's reconnect
 * wait (D2) takes over.
 *
 * Client and server share this process, so on a loaded machine an answer can take far longer
 * than the network would: the keepalive timeout below must exceed that, or keepalive finds a
 * connection dead that the proxy never froze, the attempt fails before the server ever stops
 * answering, and a late first receive froze the proxy after the thaw. Measured at a load of
 * 11 to 14 on 2 cores: with a 200 ms timeout, 7 runs in 8 failed; keepalive pings took 19 ms
 * (median), 470 ms (99th percentile), 805 ms at most (657 pings, 19 runs).
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

/**
 * A frozen server is found dead after keepaliveTimeMs + keepaliveTimeoutMs; the timeout is
 * long enough that a starved (not frozen) one answers in time (see above).
 */
const KEEPALIVE = { keepaliveTimeMs: 100, keepaliveTimeoutMs: 5_000 };

/**
 * A receiver served behind a proxy that freezes when the first receive reaches the server,
 * unless `thaw()` came first: a receive that reaches the server only after the client gave up
 * on it must not freeze a proxy that nothing would thaw again.
 */
async function freezesOnFirstReceive(dst: MemoryPool) {
  const inner = memoryReceiver(dst, 'backup');
  let receives = 0;
  let frozen = false;
  let thawed = false;
  const receiver: Receiver = {
    listFilesystems: (signal) => inner.listFilesystems(signal),
    listFilesystemVersions: (fs, signal) => inner.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => inner.waitForConnectivity(signal),
    receive(req, stream, signal) {
      if (receives++ === 0 && !thawed) {
        frozen = true;
        proxy?.freeze();
      }
      return inner.receive(req, stream, signal);
    },
  };
  const server = await resources.serveReceiver(receiver);
  proxy = new FreezingProxy(server.port);
  await proxy.start();
  return {
    url: `grpc://127.0.0.1:${proxy.port}`,
    receives: () => receives,
    /** Whether the proxy froze (before any thaw). */
    froze: () => frozen,
    /** The operator's SIGCONT: the server answers again. */
    thaw(): void {
      thawed = true;
      proxy?.thaw();
    },
  };
}

describe('D2 a connection known dead ends the attempt at once', () => {
  test('queued filesystems do not each wait for the stream idle timeout', async () => {
    const src = sourceTree({ snapshots: 2, size: 2_000_000 });
    const dst = new MemoryPool({ seed: 'dst' });
    const served = await freezesOnFirstReceive(dst);
    const receiver = resources.client(
      grpcReceiver(served.url, {
        ...KEEPALIVE,
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
        if (waits++ === 0) served.thaw();
        return planner.waitForConnectivity(signal);
      },
    };
    const report = await replicate(
      config({ stepQueueConcurrency: 1, maxAttempts: 3, reconnectHardFailTimeoutMs: 60_000 }),
      thawsOnReconnectWait,
    ).wait();

    // The first attempt ended because the server froze, not for a reason of its own.
    expect(served.froze()).toBe(true);
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
    const receiver = resources.client(grpcReceiver(served.url, KEEPALIVE));
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
    served.thaw();
    await receiver.waitForConnectivity(never);
    expect(await receiver.listFilesystems(never)).toEqual([]);
  });
});

/** Steps the attempt ran to completion. */
function countSteps(attempt: { filesystems: { currentStep: number }[] }): number {
  return attempt.filesystems.reduce((n, fs) => n + fs.currentStep, 0);
}
