import { ConfigError, replicate } from '../../src/index.js';
import { Script, fsWith } from '../helpers/scripted.js';
import { config, temporary } from '../helpers/driver.js';

describe('D1 config', () => {
  const invalid: [string, Record<string, unknown>, string][] = [
    ['zero concurrency', { stepQueueConcurrency: 0 }, 'stepQueueConcurrency'],
    ['fractional concurrency', { stepQueueConcurrency: 1.5 }, 'stepQueueConcurrency'],
    ['NaN concurrency', { stepQueueConcurrency: NaN }, 'stepQueueConcurrency'],
    ['Infinity concurrency', { stepQueueConcurrency: Infinity }, 'stepQueueConcurrency'],
    ['string concurrency', { stepQueueConcurrency: '4' }, 'stepQueueConcurrency'],
    ['maxAttempts 0', { maxAttempts: 0 }, 'maxAttempts'],
    ['maxAttempts -2', { maxAttempts: -2 }, 'maxAttempts'],
    ['maxAttempts 2.5', { maxAttempts: 2.5 }, 'maxAttempts'],
    ['maxAttempts Infinity', { maxAttempts: Infinity }, 'maxAttempts'],
    ['timeout 0', { reconnectHardFailTimeoutMs: 0 }, 'reconnectHardFailTimeoutMs'],
    ['timeout negative', { reconnectHardFailTimeoutMs: -5 }, 'reconnectHardFailTimeoutMs'],
    ['timeout NaN', { reconnectHardFailTimeoutMs: NaN }, 'reconnectHardFailTimeoutMs'],
    ['timeout Infinity', { reconnectHardFailTimeoutMs: Infinity }, 'reconnectHardFailTimeoutMs'],
    ['timeout missing', { reconnectHardFailTimeoutMs: undefined }, 'reconnectHardFailTimeoutMs'],
  ];

  test.each(invalid)('rejects %s before anything starts', (_, over, field) => {
    const script = new Script([]);
    let thrown: unknown;
    try {
      replicate({ ...config(), ...over } as never, script);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect(error.issues.map((i) => i.path)).toEqual([field]);
    expect(error.message).toContain(field);
    expect(script.log).toHaveLength(0);
  });

  test('names every offending field, not only the first', () => {
    let thrown: unknown;
    try {
      replicate(
        { stepQueueConcurrency: 0, maxAttempts: 0, reconnectHardFailTimeoutMs: -1 },
        new Script([]),
      );
    } catch (err) {
      thrown = err;
    }
    const error = thrown as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => i.path).sort()).toEqual([
      'maxAttempts',
      'reconnectHardFailTimeoutMs',
      'stepQueueConcurrency',
    ]);
    for (const f of ['maxAttempts', 'reconnectHardFailTimeoutMs', 'stepQueueConcurrency']) {
      expect(error.message).toContain(f);
    }
  });

  test('a config that is not an object is a ConfigError', () => {
    expect(() => replicate(null as never, new Script([]))).toThrow(ConfigError);
  });

  test('accepts the boundaries: concurrency 1, maxAttempts -1 and 1, a tiny timeout', async () => {
    for (const maxAttempts of [-1, 1]) {
      const r = replicate(
        { stepQueueConcurrency: 1, maxAttempts, reconnectHardFailTimeoutMs: 0.5 },
        new Script([]),
      );
      expect((await r.wait()).state).toBe('done');
    }
  });

  test('maxAttempts -1 means unlimited attempts (the seed would run none)', async () => {
    let failuresLeft = 7;
    const script = new Script([fsWith('pool', [1])]);
    const plan = script.plan.bind(script);
    script.plan = async (signal) => {
      if (failuresLeft-- > 0) throw temporary();
      return plan(signal);
    };
    const report = await replicate(config({ maxAttempts: -1 }), script).wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(8);
  });
});
