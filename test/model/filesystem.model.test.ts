/**
 * Model-based tests of the filesystem statechart: paths generated from the machine (shortest
 * and simple, with `xstate/graph`) run against the filesystem actor with the driver's real
 * calls actor over a scripted planner; the test plays the attempt and the step queue, and
 * jest's fake timers stand in for the retry back-off (D14). After every event the report
 * computed from the actor's snapshot must show the model's state, blockedOn, currentStep,
 * errors, re-plans and retries.
 */
import { createActor, createEmptyActor, fromCallback } from 'xstate';
import { filesystemMachine } from '../../machines/filesystem.machine.js';
import { healingOf, retryDelay, type Healing } from '../../machines/healing.js';
import { classifyError } from '../../src/errors/classify.js';
import { StalePlanError } from '../../src/errors/stale-plan.js';
import { temporary } from '../helpers/driver.js';
import type { PreviousPlan } from '../../machines/types.js';
import { driverCalls } from '../../src/driver/actors.js';
import { correlate } from '../../src/driver/prepare.js';
import { filesystemReport } from '../../src/driver/report.js';
import { Script, ScriptedFS, ScriptedStep, type StepSpec } from '../helpers/scripted.js';
import { describeModel, expectSettled, modelOf, testTwin } from './twin.js';

const PLANS: Record<string, StepSpec[]> = {
  none: [],
  full2: [
    { from: '', to: 's1', date: 1 },
    { from: 's1', to: 's2', date: 2 },
  ],
  incremental: [{ from: 'base', to: 's1', date: 1 }],
  badDate: [{ from: 'base', to: 's1', date: 'throws' }],
};

type ModelEvent =
  | { type: 'GRANTED' }
  | { type: 'CANCEL'; reason: unknown }
  | { type: 'PARENT_PRESENT' }
  | { type: 'PARENT_FAILED'; name: string; cause: unknown }
  | { type: 'PLANNED'; steps: ScriptedStep[]; plan: string; label: string }
  | { type: 'PLAN_FAILED'; error: unknown; label?: string }
  | { type: 'STEP_DONE' }
  | { type: 'STEP_FAILED'; error: unknown; label?: string }
  | { type: typeof AFTER };

/** The retry back-off's delayed transition, as the twin names it. */
const AFTER = 'xstate.after.retryBackoff.filesystem.retry-wait';

// One re-plan and one retry: the paths reach each limit and the failure past it.
const healing: Healing = healingOf(
  { replanLimit: 1, filesystemRetries: 1, filesystemRetryBackoffMs: 1000 },
  classifyError,
);
const stale = () => new StalePlanError('snapshot gone');

const dummyScript = new Script([]);
const stepsOf = (plan: string) =>
  (PLANS[plan] ?? []).map((s) => new ScriptedStep('p/t', s, dummyScript));

const twin = testTwin(filesystemMachine);
type Snap = ReturnType<typeof twin.getInitialSnapshot>;

function correlatesUnchanged(plan: string, previous: PreviousPlan | undefined): boolean {
  const steps = stepsOf(plan);
  try {
    return correlate(steps, previous).length === steps.length;
  } catch {
    return false;
  }
}

function events(s: Snap): ModelEvent[] {
  const c = s.context;
  const out: ModelEvent[] = [
    { type: 'GRANTED' },
    { type: 'CANCEL', reason: new Error('cancelled') },
  ];
  if (c.parentsPending > 0 && c.failedParents.length === 0) {
    out.push(
      { type: 'PARENT_PRESENT' },
      { type: 'PARENT_FAILED', name: 'p', cause: new Error('p failed') },
    );
  }
  // After a failed step, the retry's plan is correlated with what was left (D5): only plans
  // that correlate unchanged are offered (the calls actor's correlation: test/driver/).
  for (const plan of Object.keys(PLANS).filter((p) => correlatesUnchanged(p, c.previous))) {
    out.push({ type: 'PLANNED', steps: stepsOf(plan), plan, label: `PLANNED(${plan})` });
  }
  out.push({ type: 'PLAN_FAILED', error: new Error('planFS failed') });
  out.push({ type: 'STEP_DONE' });
  out.push({ type: 'STEP_FAILED', error: new Error('step failed') });
  // D13, D14: the classes that heal, offered until the filesystem healed once, so the model
  // stays small; past a limit they take the transition of the permanent error above (the
  // limits themselves: test/driver/d13-d15-self-healing.test.ts).
  if (c.healing.replans + c.healing.retries === 0) {
    out.push({ type: 'PLAN_FAILED', error: stale(), label: 'PLAN_FAILED(stale)' });
    out.push({ type: 'STEP_FAILED', error: stale(), label: 'STEP_FAILED(stale)' });
    out.push({ type: 'PLAN_FAILED', error: temporary('lost'), label: 'PLAN_FAILED(temporary)' });
    out.push({ type: 'STEP_FAILED', error: temporary('lost'), label: 'STEP_FAILED(temporary)' });
  }
  out.push({ type: AFTER });
  return out;
}

const modelInput = {
  index: 1,
  planned: { fs: {} as never, name: 'p/t', ancestors: 2 },
  // Two PARENT_PRESENT events to wait for: the machine's general case (the attempt sends one).
  parentsPending: 2,
  attempt: createEmptyActor(),
  queue: createEmptyActor(),
  calls: createEmptyActor(),
  now: () => new Date(0),
  healing,
};

const model = modelOf<Snap, ModelEvent>(twin, {
  input: modelInput,
  events: events,
  key: (s) => [
    s.value,
    s.context.currentStep,
    s.context.steps?.map((st) => (st as ScriptedStep).spec),
    s.context.parentsPending,
    s.context.failedParents.length,
    s.context.cancel !== null,
    s.context.planError?.err,
    s.context.stepError?.err,
    s.context.healing.replans,
    s.context.healing.retries,
    s.context.healing.retryAt?.getTime(),
    s.context.healing.retryError?.err,
    s.context.previous?.left.map((st) => (st as ScriptedStep).spec.to),
  ],
});

/**
 * The SUT: a filesystem actor whose calls run in the driver's calls actor (`driverCalls`: real
 * planFS and steps) over a scripted FS. The test plays its attempt (PARENT_PRESENT /
 * PARENT_FAILED, CANCEL) and its step queue (a REQUEST is granted when the path says GRANTED).
 */
function sut() {
  const script = new Script([{ name: 'p/t', steps: [] }], () => false);
  const requests: string[] = [];
  const queue = createActor(
    fromCallback<{ type: string }>(({ receive }) => {
      receive((e) => {
        if (
          e.type === 'REQUEST' ||
          (e.type === 'RELEASE' && (e as { next?: unknown }).next !== undefined)
        ) {
          requests.push(e.type);
        } else if (e.type === 'WITHDRAW' || e.type === 'RELEASE') {
          requests.length = 0;
        }
      });
    }),
  ).start();
  const toAttempt: string[] = [];
  const attempt = createActor(
    fromCallback<{ type: string }>(({ receive }) => receive((e) => toAttempt.push(e.type))),
  ).start();
  const calls = createActor(driverCalls, {
    input: { signal: new AbortController().signal },
  }).start();
  const fs = createActor(filesystemMachine, {
    input: {
      ...modelInput,
      planned: { fs: new ScriptedFS(script.fss[0]!, script), name: 'p/t', ancestors: 2 },
      attempt,
      queue,
      calls,
    },
  }).start();
  const grant = () => {
    if (requests.length === 0) throw new Error('GRANTED without a pending request');
    requests.length = 0;
    fs.send({ type: 'GRANTED' });
  };
  const stop = () => {
    for (const c of [...script.pending]) c.gate.reject(new Error('test over'));
    fs.stop();
    calls.stop();
    queue.stop();
    attempt.stop();
  };
  return { script, fs, grant, stop, target: () => filesystemReport(fs.getSnapshot()) };
}

const BLOCKED: Record<string, string> = {
  'planning.waiting-for-slot': 'plan-queue',
  'stepping.waiting-for-parents': 'parent-initial-repl',
  'stepping.waiting-for-slot': 'repl-queue',
  'retry-wait.': 'retry-backoff',
};

async function runPath(path: { steps: { event: ModelEvent; state: Snap }[] }) {
  const { script, fs, grant, stop, target } = sut();
  const check = async (state: Snap) => {
    const top = typeof state.value === 'string' ? state.value : Object.keys(state.value)[0]!;
    const sub =
      typeof state.value === 'string' ? '' : (state.value as Record<string, string>)[top]!;
    const expected = {
      state: top,
      blockedOn: BLOCKED[`${top}.${sub}`] ?? 'nothing',
      currentStep: state.context.currentStep,
      planError: state.context.planError?.err ?? null,
      stepError: state.context.stepError?.err ?? null,
      replans: state.context.healing.replans,
      retries: state.context.healing.retries,
      retryError: state.context.healing.retryError?.err ?? null,
      retryAt: state.context.healing.retryAt?.getTime() ?? null,
    };
    const actual = () => {
      const t = target();
      return {
        state: t.state,
        blockedOn: t.blockedOn,
        currentStep: t.currentStep,
        planError: t.planError?.err ?? null,
        stepError: t.stepError?.err ?? null,
        replans: t.replans,
        retries: t.retries,
        retryError: t.retryError?.err ?? null,
        retryAt: t.retryAt?.getTime() ?? null,
      };
    };
    // The calls settle through promises: give them turns, then compare.
    await expectSettled(actual, expected);
  };
  let previous: Snap | undefined;
  try {
    for (const { event, state } of path.steps) {
      switch (event.type) {
        case 'GRANTED':
          grant();
          break;
        case 'CANCEL':
        case 'PARENT_PRESENT':
        case 'PARENT_FAILED':
          fs.send(event);
          break;
        case 'PLANNED':
          script.fss[0]!.steps = PLANS[event.plan]!;
          script.find('planFS', 'p/t').gate.resolve(undefined);
          break;
        case 'PLAN_FAILED':
          script.find('planFS', 'p/t').gate.reject(event.error);
          break;
        case 'STEP_DONE':
          script.find('step', 'p/t').gate.resolve(undefined);
          break;
        case 'STEP_FAILED':
          script.find('step', 'p/t').gate.reject(event.error);
          break;
        case AFTER:
          jest.advanceTimersByTime(
            retryDelay(healing.backoffMs, previous!.context.healing.retries),
          );
          break;
      }
      await check(state);
      previous = state;
    }
  } finally {
    stop();
  }
}

describe("filesystem statechart: generated paths against the driver's filesystem actor", () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  describeModel({
    machine: filesystemMachine,
    twin,
    input: modelInput,
    model: model as never,
    runPath: (path) => runPath(path as never),
  });
});
