import { replicate } from '../../src/index.js';
import { Script, fsWith } from '../helpers/scripted.js';
import { config, temporary } from '../helpers/driver.js';

/** Every actor of the run's tree, found through snapshots. */
function allActors(root: ReturnType<typeof replicate>['actor']) {
  const out: { getSnapshot(): { status: string } }[] = [root];
  for (const attempt of root.getSnapshot().context.attempts) {
    out.push(attempt);
    const ctx = attempt.getSnapshot().context;
    if (ctx.queue) out.push(ctx.queue);
    out.push(...ctx.filesystems);
  }
  return out;
}

describe('D12 no leaks', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));

  test('after wait() no timer, listener or actor of the run is alive', async () => {
    jest.useFakeTimers();
    try {
      const controller = new AbortController();
      const script = new Script([fsWith('pool', [1]), fsWith('pool/a', [2])]);
      script.failures.set('step:pool/a:s1', temporary());
      script.waitForConnectivity = async () => script.failures.clear();
      const r = replicate(config({ maxAttempts: 3, reconnectHardFailTimeoutMs: 10_000 }), script, {
        signal: controller.signal,
      });
      const report = await r.wait();
      expect(report.state).toBe('done');
      expect(jest.getTimerCount()).toBe(0);
      expect(allActors(r.actor).every((a) => a.getSnapshot().status !== 'active')).toBe(true);
      // The abort listener is gone: aborting now changes nothing.
      controller.abort();
      expect(r.report()).toEqual(report);
    } finally {
      jest.useRealTimers();
    }
  });

  test('no unhandled rejection whatever the planner throws or returns', async () => {
    const weird: unknown[] = [undefined, null, 7, 'x', {}, new Error('e')];
    for (const value of weird) {
      const planner = {
        plan: async () => {
          if (value instanceof Error) throw value;
          return value as never;
        },
        waitForConnectivity: async () => {},
      };
      await replicate(config(), planner).wait();
      const throwing = await replicate(config(), {
        plan: () => {
          throw value;
        },
        waitForConnectivity: () => Promise.reject(value),
      }).wait();
      expect(throwing.state).toBe('failed');
    }
    const badFs = await replicate(config(), {
      plan: async () => [
        {
          reportInfo: () => ({ name: 'p' }),
          equalToPreviousAttempt: () => false,
          planFS: () => {
            throw null;
          },
        },
      ],
      waitForConnectivity: async () => {},
    } as never).wait();
    expect(badFs.attempts[0]!.filesystems[0]!.planError!.err).toBe('null');
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
  });
});

describe('D12: the run signal', () => {
  test('every call shares the run signal, which allows one listener per running call without a warning', async () => {
    // events.getMaxListeners() refuses the jest realm's AbortSignal: read Node's own slot.
    const getMaxListeners = (signal: AbortSignal): unknown => {
      const slot = Object.getOwnPropertySymbols(signal).find(
        (s) => s.description === 'events.maxEventTargetListeners',
      );
      return slot === undefined ? 'no slot' : (signal as unknown as Record<symbol, unknown>)[slot];
    };
    const script = new Script(
      Array.from({ length: 20 }, (_, i) => fsWith(`pool/fs${i}`, [1])),
      () => true,
    );
    const seen = new Set<unknown>();
    const original = script.call.bind(script);
    script.call = (kind, signal, fs, step) => {
      seen.add(getMaxListeners(signal));
      return original(kind, signal, fs, step);
    };
    const report = await replicate(config({ stepQueueConcurrency: 16 }), script).wait();
    expect(report.state).toBe('done');
    expect([...seen]).toEqual([0]);
  });
});
