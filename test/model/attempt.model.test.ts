/**
 * Model-based tests of the attempt statechart: paths generated from the machine (shortest and
 * simple, with `xstate/graph`) run against the driver's attempt actor with its real planning,
 * step queue and filesystem actors over a scripted planner. The filesystems' lifecycles have
 * their own model; here a filesystem is seen as the attempt sees it: FS_PRESENT, FS_FAILED,
 * and its end. Fan-out runs one filesystem per chunk, and the test plays the scheduler that
 * delivers SPAWN_MORE. After every event the attempt's report (from its snapshot) must show
 * the model's state, its filesystems so far and its errors.
 */
import { assign, createActor } from 'xstate';
import { attemptMachine } from '../../machines/attempt.machine.js';
import type { FilesystemOutput } from '../../machines/filesystem.machine.js';
import type { PreparedPlan, TimedError } from '../../machines/types.js';
import { provideAttemptMachine } from '../../src/driver/actors.js';
import { attemptReport } from '../../src/driver/report.js';
import { until } from '../helpers/deferred.js';
import { Script } from '../helpers/scripted.js';
import { describeModel, expectSettled, modelOf, testTwin } from './twin.js';

const NAMES = ['a', 'b'];
const plan = (n: number): PreparedPlan => ({
  filesystems: NAMES.slice(0, n).map((name) => ({ fs: {} as never, name, ancestors: 0 })),
  descendants: NAMES.slice(0, n).map(() => []),
});

type ModelEvent =
  | { type: 'xstate.done.actor.plan'; output: PreparedPlan; label: string }
  | { type: 'xstate.error.actor.plan'; error: unknown }
  | { type: 'CANCEL'; reason: unknown }
  | { type: 'SPAWN_MORE'; chunk: number }
  | { type: 'FS_PRESENT'; index: number }
  | { type: 'FS_FAILED'; index: number; name: string; cause: unknown }
  | { type: 'xstate.done.actor.*'; output: FilesystemOutput; label: string };

/** What the model tracks of each filesystem, beside the machine's own context. */
interface Seen {
  present: number[];
  failedEarly: number[];
  ended: number[];
}

/** A filesystem as the model keeps it: no actor, no errors of its own. */
const fsError: TimedError = { err: 'step failed', time: new Date(0), cause: null };

const placeholder = {
  getSnapshot: () => ({ status: 'active', context: { planError: null, stepError: null } }),
} as never;

// The model replaces the effects on actors (spawning, relaying, cancelling) by bookkeeping.
const twin = testTwin(attemptMachine).provide({
  actions: {
    spawnQueue: () => {},
    startChunk: assign({
      filesystems: ({ context }) =>
        context.filesystems.length < (context.plan?.filesystems.length ?? 0)
          ? [...context.filesystems, placeholder]
          : context.filesystems,
    }),
    catchUpChunk: () => {},
    cancelFilesystems: () => {},
    relayPresent: assign(({ context }, params: { index: number }) => ({
      seen: { ...seenOf(context), present: [...seenOf(context).present, params.index] },
    })) as never,
    relayFailed: assign(({ context }, params: { index: number }) => ({
      seen: { ...seenOf(context), failedEarly: [...seenOf(context).failedEarly, params.index] },
    })) as never,
    countEnded: assign(({ context, event }, params: FilesystemOutput) => ({
      running: context.running - 1,
      anyFailed: context.anyFailed || params.error !== null,
      seen: {
        ...seenOf(context),
        ended: [
          ...seenOf(context).ended,
          (event as unknown as { output: { index: number } }).output.index,
        ],
      },
    })) as never,
  },
});
type Snap = ReturnType<typeof twin.getInitialSnapshot>;

function seenOf(context: object): Seen {
  return (context as { seen?: Seen }).seen ?? { present: [], failedEarly: [], ended: [] };
}

const modelInput = {
  number: 0,
  concurrency: 2,
  previous: null,
  signal: new AbortController().signal,
  now: () => new Date(0),
  chunkSize: 1,
};

function events(s: Snap): ModelEvent[] {
  const c = s.context;
  const seen = seenOf(c);
  const out: ModelEvent[] = [
    { type: 'CANCEL', reason: new Error('cancelled') },
    { type: 'xstate.error.actor.plan', error: new Error('cannot list filesystems') },
  ];
  for (const n of [0, 1, 2])
    out.push({ type: 'xstate.done.actor.plan', output: plan(n), label: `✓plan(${n})` });
  // After cancellation the filesystems not started stay so (their start would fail them at
  // once, inside SPAWN_MORE; the filesystem model covers that).
  const spawned = c.filesystems.length;
  if (c.cancel === null && c.plan !== null && spawned > 0 && spawned < c.plan.filesystems.length) {
    out.push({ type: 'SPAWN_MORE', chunk: spawned });
  }
  for (let index = 0; index < c.filesystems.length; index++) {
    if (seen.ended.includes(index)) continue;
    const present = seen.present.includes(index);
    const failedEarly = seen.failedEarly.includes(index);
    if (!present && !failedEarly) {
      if (c.cancel === null) out.push({ type: 'FS_PRESENT', index });
      out.push({
        type: 'FS_FAILED',
        index,
        name: NAMES[index]!,
        cause: new Error('planFS failed'),
      });
    }
    // Steps are admitted after every planning (D4): not before the last chunk has started.
    if (present && spawned === c.plan?.filesystems.length) {
      for (const failed of c.cancel === null ? [false, true] : [true]) {
        out.push({
          type: 'xstate.done.actor.*',
          output: { index, error: failed ? fsError : null },
          label: `fs-${index} ends${failed ? ' failed' : ''}`,
        });
      }
    }
    if (failedEarly) {
      out.push({
        type: 'xstate.done.actor.*',
        output: { index, error: fsError },
        label: `fs-${index} ends failed`,
      });
    }
  }
  return out;
}

const model = modelOf<Snap, ModelEvent>(twin, {
  input: modelInput,
  events: events,
  key: (s) => [
    s.value,
    s.context.plan?.filesystems.length,
    s.context.filesystems.length,
    s.context.running,
    s.context.anyFailed,
    s.context.cancel !== null,
    s.context.planError?.err,
    seenOf(s.context),
  ],
});

/** A failing filesystem tells FS_FAILED and ends in one go: the model must say so too. */
function feasible(path: { steps: { event: ModelEvent }[] }): boolean {
  return path.steps.every(({ event }, i) => {
    if (event.type !== 'FS_FAILED') return true;
    const next = path.steps[i + 1]?.event;
    return next?.type === 'xstate.done.actor.*' && next.output.index === event.index;
  });
}

/**
 * The SUT: the driver's attempt actor, a scripted planner (every call waits for the test) and
 * a scheduler whose `later` (SPAWN_MORE) the test runs. Each filesystem plans one incremental
 * step: present as soon as its planning succeeded.
 */
function sut() {
  const script = new Script([], () => false);
  const later: (() => void)[] = [];
  const attempt = createActor(provideAttemptMachine(script), {
    input: {
      ...modelInput,
      now: () => new Date(),
      scheduler: { run: (fn: () => void) => fn(), later: (fn: () => void) => later.push(fn) },
    },
  }).start();
  const settle = async (fs: string, ok: boolean) => {
    await until(() => script.pending.some((c) => c.fs === fs));
    const call = script.pending.find((c) => c.fs === fs)!;
    if (ok) call.gate.resolve(undefined);
    else call.gate.reject(new Error(call.kind === 'planFS' ? 'planFS failed' : 'step failed'));
  };
  const stop = () => {
    for (const c of [...script.pending]) c.gate.reject(new Error('test over'));
    attempt.stop();
  };
  return { script, attempt, later, settle, stop };
}

async function runPath(path: { steps: { event: ModelEvent; state: Snap }[] }) {
  const { script, attempt, later, settle, stop } = sut();
  const check = async (state: Snap) => {
    const expected = {
      state: typeof state.value === 'string' ? state.value : Object.keys(state.value)[0],
      // The report lists every planned filesystem, started or not.
      filesystems: state.context.plan?.filesystems.length ?? 0,
      started: state.context.filesystems.length,
      planError: state.context.planError?.err ?? null,
      finished: state.context.finishAt !== null,
    };
    const actual = () => {
      const r = attemptReport(attempt.getSnapshot());
      return {
        state: r.state,
        filesystems: r.filesystems.length,
        started: attempt.getSnapshot().context.filesystems.length,
        planError: r.planError?.err ?? null,
        finished: r.finishAt !== null,
      };
    };
    await expectSettled(actual, expected);
  };
  try {
    for (const [i, { event, state }] of path.steps.entries()) {
      switch (event.type) {
        case 'xstate.done.actor.plan':
          script.fss = event.output.filesystems.map((f) => ({
            name: f.name,
            steps: [{ from: 'base', to: 's1', date: 1 }],
          }));
          script.find('plan').gate.resolve(undefined);
          break;
        case 'xstate.error.actor.plan':
          script.find('plan').gate.reject(event.error);
          break;
        case 'CANCEL':
          attempt.send(event);
          break;
        case 'SPAWN_MORE':
          later.shift()!();
          break;
        case 'FS_PRESENT':
          await settle(NAMES[event.index]!, true);
          break;
        case 'FS_FAILED':
          await settle(NAMES[event.index]!, false);
          break;
        case 'xstate.done.actor.*':
          // After FS_FAILED the filesystem has ended already (see feasible()).
          if (path.steps[i - 1]?.event.type !== 'FS_FAILED') {
            await settle(NAMES[event.output.index]!, event.output.error === null);
          }
          break;
      }
      if (event.type !== 'FS_FAILED') await check(state);
    }
  } finally {
    stop();
  }
}

describe("attempt statechart: generated paths against the driver's attempt actor", () => {
  describeModel({
    machine: attemptMachine,
    twin,
    input: modelInput,
    model: model as never,
    runPath: (path) => runPath(path as never),
    keep: (p) => feasible(p as never),
  });
});
