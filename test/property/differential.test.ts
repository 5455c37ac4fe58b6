/**
 * The differential suite: the driver (`replicate()`) and an oracle written independently of the
 * charts (oracle.ts) run the same generated scenarios (dataset trees, plans, target dates,
 * failures, interleavings, cancellation, and with healing on stale plans, flapping connections
 * and back-offs) and must agree: the same calls (plan, planFS, step, waitForConnectivity) in
 * the same order and the same final report (states, errors, currentStep, steps, re-plans,
 * retries), at concurrency 1 and above. Times are not compared (the two read the clock
 * differently).
 *
 * Both run through the property harness with its canonical schedule (harness.ts): after each
 * release the event loop turns until nothing new starts, and the scenario's picks index the
 * pending calls in a fixed order, so both see the same choices. Cancellation happens between
 * releases; a cancellation inside a call, and D15's stall watch, are the property suite's.
 */
import fc from 'fast-check';
import type { Report } from '../../src/index.js';
import { scenario, type ScenarioOptions } from './arbitraries.js';
import { fcParameters } from './fc-parameters.js';
import { runScenario, type Replicate, type Scenario, type Trace } from './harness.js';
import { replicateOracle } from './oracle.js';
import { callName } from './world.js';

const oracle: Replicate = (config, planner, options) => replicateOracle(config, planner, options);

/** The scenarios of the suite: cancellation between releases only, no stall watch. */
function differentialScenario(options: ScenarioOptions): fc.Arbitrary<Scenario> {
  return scenario(options).map((s) => ({
    ...s,
    cancel: s.cancel === null ? null : { at: s.cancel.at, inside: false },
    healing:
      s.healing === null
        ? null
        : {
            replanLimit: s.healing.replanLimit,
            filesystemRetries: s.healing.filesystemRetries,
            filesystemRetryBackoffMs: s.healing.filesystemRetryBackoffMs,
          },
  }));
}

/** What the two must agree on: the final report without times, and byte counts. */
function outcome(report: Report) {
  const err = (e: { err: string } | null) => e?.err ?? null;
  return {
    state: report.state,
    waitReconnectError: err(report.waitReconnectError),
    attempts: report.attempts.map((a) => ({
      state: a.state,
      planError: err(a.planError),
      filesystems: a.filesystems.map((f) => ({
        name: f.info.name,
        state: f.state,
        blockedOn: f.blockedOn,
        planError: err(f.planError),
        stepError: err(f.stepError),
        currentStep: f.currentStep,
        steps: f.steps.map((s) => `${s.info.from}>${s.info.to}`),
        replans: f.replans,
        retries: f.retries,
        retryError: err(f.retryError),
      })),
    })),
  };
}

/** The calls in the order they started: every plan, planFS, step and waitForConnectivity. */
const calls = (t: Trace): string[] => t.world.log.map(callName);

function disagreements(driver: Trace, model: Trace): string[] {
  const problems: string[] = [];
  if (!driver.ended) problems.push('the driver did not end');
  if (!model.ended) problems.push('the oracle did not end');
  {
    const d = calls(driver);
    const o = calls(model);
    const at = d.findIndex((c, i) => c !== o[i]);
    if (at !== -1 || d.length !== o.length) {
      const from = Math.max(0, (at === -1 ? Math.min(d.length, o.length) : at) - 3);
      problems.push(
        `the calls differ from #${at === -1 ? Math.min(d.length, o.length) : at}:\n` +
          `  driver: … ${d.slice(from, from + 8).join(' | ')}\n` +
          `  oracle: … ${o.slice(from, from + 8).join(' | ')}`,
      );
    }
  }
  try {
    expect(outcome(driver.final)).toEqual(outcome(model.final));
  } catch (error) {
    problems.push(`the final reports differ:\n${(error as Error).message}`);
  }
  return problems;
}

/** How many scenarios reached what: the suite compares something only if they do. */
interface Reached {
  runs: number;
  steps: number;
  retriedAttempts: number;
  cancelled: number;
  parentsFailed: number;
  replans: number;
  retries: number;
}

function tally(reached: Reached, report: Report): void {
  const fss = report.attempts.flatMap((a) => a.filesystems);
  reached.runs++;
  if (fss.some((f) => f.currentStep > 0)) reached.steps++;
  if (report.attempts.length > 1) reached.retriedAttempts++;
  if (report.state === 'cancelled') reached.cancelled++;
  if (fss.some((f) => f.stepError?.err.startsWith('parent(s) failed'))) reached.parentsFailed++;
  if (fss.some((f) => f.replans > 0)) reached.replans++;
  if (fss.some((f) => f.retries > 0)) reached.retries++;
}

async function agree(options: ScenarioOptions, numRuns: number): Promise<Reached> {
  const reached: Reached = {
    runs: 0,
    steps: 0,
    retriedAttempts: 0,
    cancelled: 0,
    parentsFailed: 0,
    replans: 0,
    retries: 0,
  };
  await fc.assert(
    fc.asyncProperty(differentialScenario(options), async (s) => {
      const driver = await runScenario(s, { canonical: true });
      const model = await runScenario(s, { canonical: true, replicate: oracle });
      const problems = disagreements(driver, model);
      if (problems.length > 0) throw new Error(problems.join('\n'));
      tally(reached, driver.final);
    }),
    fcParameters(numRuns),
  );
  return reached;
}

/** Each of `what` was reached by at least one scenario in twenty. */
function expectReached(reached: Reached, what: (keyof Reached)[]): void {
  const rare = what.filter((k) => reached[k] * 20 < reached.runs);
  expect({ rare, reached }).toEqual({ rare: [], reached });
}

describe('the driver and the oracle agree (differential)', () => {
  test('at concurrency 1: the same calls in the same order, the same final report (D2-D10)', async () => {
    const reached = await agree({ concurrency: 1 }, 80);
    expectReached(reached, ['steps', 'retriedAttempts', 'cancelled', 'parentsFailed']);
  });

  // Stronger than the final report alone: with the canonical schedule the calls agree too.
  test('at any concurrency: the same calls in the same order, the same final report (D2-D10)', async () => {
    const reached = await agree({}, 80);
    expectReached(reached, ['steps', 'retriedAttempts', 'cancelled', 'parentsFailed']);
  });

  describe('with self-healing on: stale plans, flapping connections, back-offs (D13, D14)', () => {
    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    test('at concurrency 1: the same calls in the same order, the same final report', async () => {
      const reached = await agree({ healing: true, concurrency: 1, maxFilesystems: 12 }, 60);
      expectReached(reached, ['steps', 'cancelled', 'replans', 'retries']);
    });

    test('at any concurrency: the same calls in the same order, the same final report', async () => {
      const reached = await agree({ healing: true, maxFilesystems: 12 }, 60);
      expectReached(reached, ['steps', 'cancelled', 'replans', 'retries']);
    });
  });
});
