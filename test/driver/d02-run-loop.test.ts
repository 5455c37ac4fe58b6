import { replicate } from '../../src/index.js';
import { Script, fsWith } from '../helpers/scripted.js';
import { config, recordingLogger, temporary, tickingClock } from '../helpers/driver.js';
import { flush } from '../helpers/deferred.js';

const MAX_TIMER = 2 ** 31 - 1;

/** A planner whose first `n` plan() calls fail with `err`. */
function failingPlans(script: Script, n: number, err: () => unknown): Script {
  const plan = script.plan.bind(script);
  let left = n;
  script.plan = async (signal) => {
    if (left-- > 0) {
      await script.call('plan', signal);
      throw err();
    }
    return plan(signal);
  };
  return script;
}

describe('D2 the run loop', () => {
  test('a done attempt ends the run done, with finishAt set', async () => {
    const clock = tickingClock();
    const r = replicate(config(), new Script([fsWith('pool', [1])]), { now: clock.now });
    const report = await r.wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(1);
    expect(report.finishAt).toBeInstanceOf(Date);
    expect(report.finishAt!.getTime()).toBeGreaterThan(report.startAt.getTime());
    expect(report.attempts[0]!.finishAt!.getTime()).toBeLessThanOrEqual(report.finishAt!.getTime());
  });

  test('zero filesystems is done, with a warning log', async () => {
    const logger = recordingLogger();
    const report = await replicate(config(), new Script([]), { logger }).wait();
    expect(report.state).toBe('done');
    expect(report.attempts[0]!.filesystems).toEqual([]);
    expect(logger.lines).toContainEqual({
      level: 'warn',
      msg: 'no filesystems were considered for replication',
    });
  });

  test('a permanent error ends the run failed without another attempt or reconnect', async () => {
    const script = failingPlans(new Script([]), 1, () => new Error('disk on fire'));
    const report = await replicate(config({ maxAttempts: 5 }), script).wait();
    expect(report.state).toBe('failed');
    expect(report.attempts).toHaveLength(1);
    expect(report.attempts[0]!.planError!.err).toBe('disk on fire');
    expect(script.log.map((c) => c.kind)).toEqual(['plan']);
    expect(report.waitReconnectSince).toBeNull();
  });

  test('a temporary error waits for connectivity, then the next attempt runs', async () => {
    const clock = tickingClock();
    const script = failingPlans(
      new Script([fsWith('pool', [1])], (kind) => kind !== 'waitForConnectivity'),
      1,
      () => temporary(),
    );
    const r = replicate(config({ maxAttempts: 2, reconnectHardFailTimeoutMs: 5000 }), script, {
      now: clock.now,
    });
    await flush();
    const waiting = r.report();
    expect(waiting.state).toBe('waiting-reconnect');
    expect(waiting.waitReconnectUntil!.getTime() - waiting.waitReconnectSince!.getTime()).toBe(
      5000,
    );
    expect(waiting.waitReconnectError).toBeNull();
    script.find('waitForConnectivity').gate.resolve(undefined);
    const report = await r.wait();
    expect(report.state).toBe('done');
    expect(report.attempts.map((a) => a.state)).toEqual(['planning-error', 'done']);
    expect(report.waitReconnectError).toBeNull();
  });

  test('a rejected waitForConnectivity ends the run failed with waitReconnectError', async () => {
    const script = failingPlans(new Script([]), 1, () => temporary());
    script.waitForConnectivity = async () => {
      throw new Error('still down');
    };
    const report = await replicate(config({ maxAttempts: 3 }), script).wait();
    expect(report.state).toBe('failed');
    expect(report.attempts).toHaveLength(1);
    expect(report.waitReconnectError!.err).toBe('still down');
  });

  test('no attempts left: fails at once without waiting for connectivity', async () => {
    const script = failingPlans(new Script([]), 1, () => temporary());
    const report = await replicate(config({ maxAttempts: 1 }), script).wait();
    expect(report.state).toBe('failed');
    expect(script.log.map((c) => c.kind)).toEqual(['plan']);
    expect(report.waitReconnectSince).toBeNull();
  });

  describe('the reconnect deadline', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    test('ends the run failed at the deadline without waiting for the call to settle', async () => {
      const script = failingPlans(new Script([], (kind) => kind !== 'waitForConnectivity'), 1, () =>
        temporary(),
      );
      const r = replicate(config({ maxAttempts: 3, reconnectHardFailTimeoutMs: 1000 }), script);
      await jest.advanceTimersByTimeAsync(999);
      expect(r.report().state).toBe('waiting-reconnect');
      const call = script.find('waitForConnectivity');
      expect(call.signal.aborted).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      const report = await r.wait();
      expect(report.state).toBe('failed');
      expect(report.waitReconnectError!.err).toBe('reconnect deadline of 1000 ms exceeded');
      expect(call.signal.aborted).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    });

    test('a timeout beyond 2^31-1 ms is re-armed, not fired early', async () => {
      const timeout = MAX_TIMER * 2 + 10;
      const script = failingPlans(new Script([], (kind) => kind !== 'waitForConnectivity'), 1, () =>
        temporary(),
      );
      const r = replicate(config({ maxAttempts: 3, reconnectHardFailTimeoutMs: timeout }), script);
      await jest.advanceTimersByTimeAsync(MAX_TIMER * 2);
      expect(r.report().state).toBe('waiting-reconnect');
      await jest.advanceTimersByTimeAsync(9);
      expect(r.report().state).toBe('waiting-reconnect');
      await jest.advanceTimersByTimeAsync(1);
      expect((await r.wait()).waitReconnectError!.err).toBe(
        `reconnect deadline of ${timeout} ms exceeded`,
      );
    });

    test('a timeout past what a Date can hold waits, with waitReconnectUntil at the latest Date', async () => {
      const script = failingPlans(new Script([], (kind) => kind !== 'waitForConnectivity'), 1, () =>
        temporary(),
      );
      const controller = new AbortController();
      const r = replicate(
        config({ maxAttempts: 3, reconnectHardFailTimeoutMs: Number.MAX_SAFE_INTEGER }),
        script,
        { signal: controller.signal },
      );
      await jest.advanceTimersByTimeAsync(MAX_TIMER);
      const report = r.report();
      expect(report.state).toBe('waiting-reconnect');
      expect(report.waitReconnectUntil!.getTime()).toBe(8.64e15);
      expect(() => JSON.stringify(report)).not.toThrow();
      controller.abort();
      expect((await r.wait()).state).toBe('cancelled');
      expect(jest.getTimerCount()).toBe(0);
    });

    test('a rejection before the deadline wins over the deadline', async () => {
      const script = failingPlans(new Script([], (kind) => kind !== 'waitForConnectivity'), 1, () =>
        temporary(),
      );
      const r = replicate(config({ maxAttempts: 3, reconnectHardFailTimeoutMs: 1000 }), script);
      await jest.advanceTimersByTimeAsync(500);
      script.find('waitForConnectivity').gate.reject(new Error('peer gone for good'));
      await jest.advanceTimersByTimeAsync(0);
      const report = await r.wait();
      expect(report.waitReconnectError!.err).toBe('peer gone for good');
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});
