/**
 * Model-based tests of the job statechart: paths generated from the chart (shortest and
 * simple) run against a job actor whose snapshot, replicate and prune calls the test settles
 * by hand. After every event the actor must be in the model's state with the model's error.
 */
import { createActor, fromPromise } from 'xstate';
import {
  jobMachine,
  type JobKind,
  type JobStepInput,
  type PruneInput,
} from '../../machines/job.machine.js';
import { deferred, until, type Deferred } from '../helpers/deferred.js';
import {
  allStates,
  allTransitions,
  expectSettled,
  modelOf,
  pathCoverage,
  pathName,
  testTwin,
} from './twin.js';

const twin = testTwin(jobMachine);
type Snap = ReturnType<typeof twin.getInitialSnapshot>;

const CALLS = ['snapshot', 'replicate', 'pruneSender', 'pruneReceiver'] as const;
type Call = (typeof CALLS)[number];

type ModelEvent =
  | { type: 'TICK' }
  | { type: 'WAKEUP' }
  | { type: 'RESET' }
  | { type: `xstate.done.actor.${Call}`; output: unknown }
  | { type: `xstate.error.actor.${Call}`; error: unknown };

function events(): ModelEvent[] {
  return [
    { type: 'TICK' },
    { type: 'WAKEUP' },
    { type: 'RESET' },
    ...CALLS.flatMap((c) => [
      { type: `xstate.done.actor.${c}` as const, output: { call: c } },
      { type: `xstate.error.actor.${c}` as const, error: new Error(`${c} failed`) },
    ]),
  ];
}

function describeKind(kind: JobKind) {
  const input = { name: 'j', kind, now: () => new Date(0) };
  const model = modelOf<Snap, ModelEvent>(twin, {
    input,
    events: () => events(),
    key: (s) => [s.value, s.context.lastError?.during ?? null, s.context.cycles > 0],
  });

  function sut() {
    const pending = new Map<Call, Deferred<unknown>>();
    const call = (name: Call) => () => {
      const d = deferred<unknown>();
      pending.set(name, d);
      return d.promise;
    };
    const job = createActor(
      jobMachine.provide({
        actors: {
          snapshot: fromPromise(call('snapshot')),
          replicate: fromPromise(call('replicate')),
          prune: fromPromise(({ input: { side } }) =>
            call(side === 'sender' ? 'pruneSender' : 'pruneReceiver')(),
          ),
        },
      }),
      { input },
    ).start();
    return { job, pending };
  }

  async function runPath(path: { steps: { event: ModelEvent; state: Snap }[] }) {
    const { job, pending } = sut();
    try {
      for (const { event, state } of path.steps) {
        const m = /^xstate\.(done|error)\.actor\.(\w+)$/.exec(event.type);
        if (m !== null) {
          const c = m[2] as Call;
          await until(() => pending.has(c));
          const d = pending.get(c)!;
          pending.delete(c);
          if (m[1] === 'done') d.resolve((event as { output: unknown }).output);
          else d.reject((event as { error: unknown }).error);
        } else if ((event.type as string) !== 'xstate.init') {
          job.send(event as never);
        }
        await expectSettled(() => {
          const s = job.getSnapshot();
          return [s.value, s.context.lastError?.during ?? null, s.context.lastError?.err ?? null];
        }, [
          state.value,
          state.context.lastError?.during ?? null,
          state.context.lastError?.err ?? null,
        ]);
      }
    } finally {
      job.stop();
    }
  }

  // Paths of up to eight events: every state and transition, without thousands of
  // repetitions of the same error loop.
  const paths = [...model.getShortestPaths(), ...model.getSimplePaths()].filter(
    (p) => p.steps.length <= 9,
  );
  describe(`job statechart (${kind}): generated paths against a job actor`, () => {
    test.each(paths.map((p) => [pathName(p.steps as never), p] as const))('%s', async (_, p) => {
      await runPath(p as never);
    });
  });
  return { input, paths };
}

const generated = (['push', 'snap', 'pull', 'source', 'sink'] as const).map(describeKind);

test('the twin has the states and transitions of the chart', () => {
  expect(allStates(twin)).toEqual(allStates(jobMachine));
  expect(allTransitions(twin)).toEqual(allTransitions(jobMachine));
});

test('the paths of the kinds cover every state and every transition of the chart', () => {
  const covered = { states: new Set<string>(), transitions: new Set<string>() };
  for (const { input, paths } of generated) {
    const c = pathCoverage(twin, input, paths as never);
    c.coveredStates.forEach((x) => covered.states.add(x));
    c.coveredTransitions.forEach((x) => covered.transitions.add(x));
  }
  expect(allStates(twin).filter((x) => !covered.states.has(x))).toEqual([]);
  expect(allTransitions(twin).filter((x) => !covered.transitions.has(x))).toEqual([]);
});

test('a stopped job aborts the work it was doing', async () => {
  let aborted: AbortSignal | undefined;
  const job = createActor(
    jobMachine.provide({
      actors: {
        snapshot: fromPromise(({ signal }) => {
          aborted = signal;
          return new Promise(() => {});
        }),
      },
    }),
    { input: { name: 'j', kind: 'push', now: () => new Date(0) } },
  ).start();
  job.send({ type: 'TICK' });
  expect(job.getSnapshot().value).toBe('snapshotting');
  job.stop();
  expect(aborted?.aborted).toBe(true);
});

test('a snap job goes from snapshotting to pruning-sender to idle', async () => {
  const job = createActor(
    jobMachine.provide({
      actors: {
        snapshot: fromPromise<unknown, JobStepInput>(async () => 'snap'),
        prune: fromPromise<unknown, PruneInput>(async ({ input }) => input.side),
      },
    }),
    { input: { name: 'j', kind: 'snap', now: () => new Date(0) } },
  ).start();
  const seen: unknown[] = [];
  job.subscribe((s) => seen.push(s.value));
  job.send({ type: 'WAKEUP' });
  await until(() => job.getSnapshot().value === 'idle');
  expect(seen).toEqual(['snapshotting', 'pruning-sender', 'idle']);
  expect(job.getSnapshot().context.lastPruneSender).toBe('sender');
  job.stop();
});
