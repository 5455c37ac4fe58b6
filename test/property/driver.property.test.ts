/**
 * Properties of the driver over generated scenarios: dataset trees (prefix names included),
 * plans, target dates (equal, invalid, throwing), temporary and permanent failures, interleavings
 * and cancellation points. See harness.ts for how a scenario runs, checks.ts for the invariants.
 */
import fc from 'fast-check';
import { scenario, type ScenarioOptions } from './arbitraries.js';
import {
  admissionOrderProblems,
  concurrencyProblems,
  healingProblems,
  parentProblems,
  retryProblems,
  stepOrderProblems,
  temporaryOnlyProblems,
  terminationProblems,
} from './checks.js';
import { fcParameters, hostProcess } from './fc-parameters.js';
import { runScenario, type Trace } from './harness.js';
import { admissionOrder } from './queue-model.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(() => hostProcess().on('unhandledRejection', onUnhandled));
afterAll(() => hostProcess().off('unhandledRejection', onUnhandled));

/** Runs `numRuns` scenarios and fails with every problem `check` finds in the first bad one. */
async function holds(
  options: ScenarioOptions,
  numRuns: number,
  check: (trace: Trace) => string[],
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(scenario(options), async (s) => {
      const seenBefore = unhandled.length;
      const trace = await runScenario(s);
      const problems = check(trace);
      for (const reason of unhandled.slice(seenBefore))
        problems.push(`unhandled rejection: ${String(reason)}`);
      if (problems.length > 0) throw new Error(problems.join('\n'));
    }),
    fcParameters(numRuns),
  );
}

describe('driver properties', () => {
  test('1. never more than stepQueueConcurrency plannings and steps at once (D4, D8)', async () => {
    await holds({}, 60, concurrencyProblems);
  });

  test('2. the steps of a filesystem start in plan order, each after the previous one succeeded (D7)', async () => {
    await holds({}, 60, stepOrderProblems);
  });

  test('3. no initial step starts before every ancestor is present on the receiver (D6)', async () => {
    await holds({}, 60, parentProblems);
  });

  test('4. at concurrency 1, admissions follow the reference model: plannings, dates, request order (D8)', async () => {
    await holds({ concurrency: 1 }, 80, admissionOrderProblems);
  });

  test('5. every report taken during the run is consistent (D11)', async () => {
    await holds({}, 60, (t) => t.reportProblems);
  });

  test('6. every run ends with a terminal state, cancelled runs end cancelled, nothing is left running (D2, D10, D12)', async () => {
    await holds({}, 60, terminationProblems);
  });

  test('7. no unhandled rejection, whatever fails and whenever the run is cancelled (D12)', async () => {
    await holds({}, 40, () => []);
    expect(unhandled).toEqual([]);
  });

  test('8a. with only temporary failures the run ends done when maxAttempts allows (D2)', async () => {
    const retries: ScenarioOptions = {
      failures: ['temporary'],
      oddDates: false,
      cancel: false,
      reconnectFails: false,
    };
    await holds(retries, 60, temporaryOnlyProblems);
  });

  test('8b. a retried filesystem plans as D5 correlates and never repeats a completed step (D5)', async () => {
    const retries: ScenarioOptions = {
      failures: ['temporary'],
      cancel: false,
      reconnectFails: false,
    };
    await holds(retries, 60, retryProblems);
  });

  describe('9. with self-healing on: vanishing snapshots, flapping connections, steps that stop moving (D13-D15)', () => {
    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    });
    afterEach(() => {
      jest.useRealTimers();
    });
    const healing: ScenarioOptions = { healing: true, maxFilesystems: 12 };

    test('every run ends, nothing is left running, every report is consistent (D10, D11, D12)', async () => {
      await holds(healing, 60, (t) => [...terminationProblems(t), ...t.reportProblems]);
    });

    test('concurrency, parents and counts hold; no step completes twice (D6, D8, D13, D14)', async () => {
      await holds(healing, 60, (t) => [
        ...concurrencyProblems(t),
        ...parentProblems(t),
        ...healingProblems(t),
      ]);
    });

    test('no timer outlives the run (D12)', async () => {
      await holds(healing, 30, () => (jest.getTimerCount() === 0 ? [] : ['a timer is left']));
    });
  });

  test('large trees: a few hundred filesystems keep every invariant', async () => {
    const large: ScenarioOptions = { minFilesystems: 150, maxFilesystems: 300 };
    await holds(large, 3, (t) => [
      ...concurrencyProblems(t),
      ...stepOrderProblems(t),
      ...parentProblems(t),
      ...t.reportProblems,
      ...terminationProblems(t),
      ...retryProblems(t),
    ]);
  }, 120_000);
});

describe('the reference model of property 4', () => {
  const steps = (dates: number[]) =>
    dates.map((date, i) => ({ from: i === 0 ? '' : `s${i}`, to: `s${i + 1}`, date, fails: false }));

  test("reproduces D8's example: a(2) b(10) c(20) and u(15) v(30) run a, b, u, c, v", () => {
    const order = admissionOrder([
      { name: 'pool/x', steps: steps([2, 10, 20]) },
      { name: 'pool/y', steps: steps([15, 30]) },
    ]);
    expect(order.filter((l) => l.includes('@'))).toEqual([
      'pool/x@s1',
      'pool/x@s2',
      'pool/y@s1',
      'pool/x@s3',
      'pool/y@s2',
    ]);
  });

  test('children wait for their parent, not for a sibling whose name it prefixes (D6)', () => {
    const order = admissionOrder([
      { name: 'pool/ab', steps: steps([1]) },
      { name: 'pool/a', steps: steps([5]) },
      { name: 'pool/a/b', steps: steps([0]) },
    ]);
    expect(order).toEqual([
      'planFS:pool/ab',
      'planFS:pool/a',
      'planFS:pool/a/b',
      'pool/ab@s1',
      'pool/a@s1',
      'pool/a/b@s1',
    ]);
  });
});
