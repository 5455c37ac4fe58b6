/**
 * Model-based tests of the run statechart: paths generated from the machine (shortest and
 * simple, with `xstate/graph`) run against the driver's run actor, its real attempts and its
 * real waitForConnectivity call over a scripted planner, with jest's fake timers standing in
 * for the reconnect deadline. After every event the report computed from the run's snapshot
 * must show the model's state, attempts and reconnect window.
 */
import { assign, createActor } from 'xstate';
import { MAX_TIMER_MS, runMachine } from '../../machines/run.machine.js';
import { provideAttemptMachine, provideRunMachine } from '../../src/driver/actors.js';
import { classifyError } from '../../src/errors/classify.js';
import { runReport } from '../../src/driver/report.js';
import { until } from '../helpers/deferred.js';
import { temporary } from '../helpers/driver.js';
import { Script, fsWith } from '../helpers/scripted.js';
import { describeModel, expectSettled, modelOf, testTwin } from './twin.js';

/** How the current attempt ends; the SUT produces each through the scripted planner. */
const OUTCOMES = {
  done: { state: 'done', filesystems: 2, error: null },
  'done-empty': { state: 'done', filesystems: 0, error: null },
  temporary: { state: 'planning-error', filesystems: 0, error: temporary('connection reset') },
  permanent: { state: 'planning-error', filesystems: 0, error: new Error('pool is gone') },
  // Not done, yet no error: impossible for a correct attempt; the SUT forces it (see sut()).
  inconsistent: { state: 'filesystem-error', filesystems: 1, error: null },
} as const;
type Outcome = keyof typeof OUTCOMES;

// Two chunks: one full timer, then the rest, so the re-arm transition is on a path (D2).
const RECONNECT_MS = MAX_TIMER_MS + 5_000;
const config = {
  stepQueueConcurrency: 2,
  maxAttempts: 2,
  reconnectHardFailTimeoutMs: RECONNECT_MS,
};
const AFTER = 'xstate.after.reconnectChunk.run.waiting-reconnect.timer';

type ModelEvent =
  | { type: 'xstate.done.actor.*'; output: unknown; outcome: Outcome; label: string }
  | { type: 'CANCEL'; reason: unknown }
  | { type: 'xstate.done.actor.waitForConnectivity' }
  | { type: 'xstate.error.actor.waitForConnectivity'; error: unknown }
  | { type: typeof AFTER };

// The model keeps attempts as placeholders: spawning is the SUT's business.
const twin = testTwin(runMachine).provide({
  actions: {
    spawnAttempt: assign({ attempts: ({ context }) => [...context.attempts, {} as never] }),
    cancelAttempt: () => {},
  },
});
type Snap = ReturnType<typeof twin.getInitialSnapshot>;

const modelInput = {
  config,
  signal: new AbortController().signal,
  now: () => new Date(0),
  classify: classifyError,
};

function events(): ModelEvent[] {
  return [
    ...(Object.keys(OUTCOMES) as Outcome[]).map((outcome) => {
      const o = OUTCOMES[outcome];
      const mostRecentError =
        o.error === null ? null : { err: o.error.message, time: new Date(0), cause: o.error };
      return {
        type: 'xstate.done.actor.*' as const,
        output: { state: o.state, filesystems: o.filesystems, mostRecentError },
        outcome,
        label: `attempt ends: ${outcome}`,
      };
    }),
    { type: 'CANCEL', reason: new Error('cancelled') },
    { type: 'xstate.done.actor.waitForConnectivity' },
    { type: 'xstate.error.actor.waitForConnectivity', error: new Error('peer unreachable') },
    { type: AFTER },
  ];
}

const model = modelOf<Snap, ModelEvent>(twin, {
  input: modelInput,
  events: () => events(),
  key: (s) => [
    s.value,
    s.context.attempts.length,
    s.context.cancel !== null,
    s.context.reconnectLeftMs,
    s.context.lastOutcome?.state,
    s.context.waitReconnectError?.err,
  ],
});

/** The SUT: the driver's run actor over a scripted planner whose `plan` calls the test settles. */
function sut() {
  const script = new Script([], (kind) => kind !== 'plan' && kind !== 'waitForConnectivity');
  let forceInconsistent = false;
  // For `inconsistent`, an attempt that counts its filesystems as failed without any error.
  const attempt = provideAttemptMachine(script).provide({
    actions: {
      countEnded: assign({
        running: ({ context }) => context.running - 1,
        anyFailed: ({ context }, params: { error: unknown }) =>
          forceInconsistent || context.anyFailed || params.error !== null,
      }),
    },
  });
  const run = createActor(provideRunMachine(script).provide({ actors: { attempt } }), {
    input: { ...modelInput, now: () => new Date() },
  }).start();
  const endAttempt = async (outcome: Outcome) => {
    const o = OUTCOMES[outcome];
    forceInconsistent = outcome === 'inconsistent';
    await until(() => script.pending.some((c) => c.kind === 'plan'));
    const plan = script.find('plan');
    script.fss = Array.from({ length: o.filesystems }, (_, i) => fsWith(`pool/fs${i}`, []));
    if (o.error === null) plan.gate.resolve(undefined);
    else plan.gate.reject(o.error);
  };
  const stop = () => {
    for (const c of [...script.pending]) c.gate.reject(new Error('test over'));
    run.stop();
  };
  return { script, run, endAttempt, stop };
}

async function runPath(path: { steps: { event: ModelEvent; state: Snap }[] }) {
  const { script, run, endAttempt, stop } = sut();
  let previous: Snap | undefined;
  const check = async (state: Snap) => {
    const top = typeof state.value === 'string' ? state.value : Object.keys(state.value)[0]!;
    const expected = {
      state: top,
      attempts: state.context.attempts.length,
      waitingSince: state.context.waitReconnectSince !== null,
      waitReconnectError: state.context.waitReconnectError?.err ?? null,
      finished: state.context.finishAt !== null,
    };
    const actual = () => {
      const r = runReport(run.getSnapshot());
      return {
        state: r.state,
        attempts: r.attempts.length,
        waitingSince: r.waitReconnectSince !== null,
        waitReconnectError: r.waitReconnectError?.err ?? null,
        finished: r.finishAt !== null,
      };
    };
    await expectSettled(actual, expected);
  };
  try {
    for (const { event, state } of path.steps) {
      switch (event.type) {
        case 'xstate.done.actor.*':
          await endAttempt(event.outcome);
          break;
        case 'CANCEL':
          run.send(event);
          break;
        case 'xstate.done.actor.waitForConnectivity':
          script.find('waitForConnectivity').gate.resolve(undefined);
          break;
        case 'xstate.error.actor.waitForConnectivity':
          script.find('waitForConnectivity').gate.reject(event.error);
          break;
        case AFTER:
          jest.advanceTimersByTime(Math.min(previous!.context.reconnectLeftMs, MAX_TIMER_MS));
          break;
      }
      await check(state);
      previous = state;
    }
  } finally {
    stop();
  }
}

describe("run statechart: generated paths against the driver's run actor", () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  describeModel({
    machine: runMachine,
    twin,
    input: modelInput,
    model: model as never,
    runPath: (path) => runPath(path as never),
  });
});
