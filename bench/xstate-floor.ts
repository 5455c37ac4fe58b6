/**
 * The floor under any design that gives each filesystem its own XState actor: what XState
 * itself charges for one actor and for one event, on a two-state machine whose transitions do
 * one `assign` (nothing of xrepl's), set against the plain baseline's whole cost per
 * filesystem on the benchmark workload.
 *
 *   npm run build && node --expose-gc dist/bench/xstate-floor.js [--n 100000]
 *
 * Measures (median of 5 rounds, in microseconds):
 * - an actor: `createActor(machine, { parent })`, `start()`, and stopping it again;
 * - an event: `actor.send()` that takes one transition with one `assign`;
 * - the same transition through XState's pure `transition(machine, snapshot, event)`, which
 *   builds a throwaway actor scope (and system) on every call;
 * - the same transition through `machine.transition(snapshot, event, scope)` with one scope
 *   reused, the cheapest way XState can move a chart without an actor per chart;
 * - the baseline (bench/baseline.ts) on the workload: wall time per filesystem.
 */
import {
  assign,
  createActor,
  initialTransition,
  setup,
  transition,
  type AnyActorScope,
} from 'xstate';
import { positiveIntArg } from './args.js';
import { replicateBaseline } from './baseline.js';
import { Workload } from './workload.js';

const N = positiveIntArg('--n', 100_000);
const ROUNDS = 5;

const machine = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'T' } },
  actions: { count: assign({ n: ({ context }) => context.n + 1 }) },
}).createMachine({
  context: { n: 0 },
  initial: 'a',
  states: {
    a: { on: { T: { target: 'b', actions: 'count' } } },
    b: { on: { T: { target: 'a', actions: 'count' } } },
  },
});

/** Median time per operation, us, over ROUNDS rounds of `ops` operations. */
function perOp(ops: number, round: (ops: number) => void): number {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    globalThis.gc?.();
    const t0 = performance.now();
    round(ops);
    times.push(((performance.now() - t0) * 1000) / ops);
  }
  times.sort((a, b) => a - b);
  return times[ROUNDS >> 1] as number;
}

const parent = createActor(machine);
parent.start();

const actorUs = perOp(N, (ops) => {
  const actors = [];
  for (let i = 0; i < ops; i++) {
    const actor = createActor(machine, { id: `fs-${i}`, parent });
    actor.start();
    actors.push(actor);
  }
  // A child cannot be stopped from outside with stop(); _stop() is what its parent calls.
  for (const actor of actors) (actor as unknown as { _stop(): void })._stop();
});

const pool = Array.from({ length: 1000 }, () => createActor(machine, { parent }).start());
const eventUs = perOp(10 * N, (ops) => {
  for (let i = 0; i < ops; i++)
    (pool[i % pool.length] as (typeof pool)[number]).send({ type: 'T' });
});

let [snapshot] = initialTransition(machine);
const pureUs = perOp(N, (ops) => {
  for (let i = 0; i < ops; i++) [snapshot] = transition(machine, snapshot, { type: 'T' });
});

const scope = {
  self: parent,
  id: '',
  sessionId: '',
  logger: () => {},
  defer: () => {},
  emit: () => {},
  stopChild: () => {},
  system: parent.system,
  actionExecutor: () => {},
} as unknown as AnyActorScope;
const reusedScopeUs = perOp(10 * N, (ops) => {
  for (let i = 0; i < ops; i++) snapshot = machine.transition(snapshot, { type: 'T' }, scope);
});

const baselineTimes: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const workload = new Workload(N);
  globalThis.gc?.();
  const t0 = performance.now();
  await replicateBaseline(
    { stepQueueConcurrency: 8, maxAttempts: 1, reconnectHardFailTimeoutMs: 60_000 },
    workload,
  ).wait();
  baselineTimes.push(((performance.now() - t0) * 1000) / N);
}
baselineTimes.sort((a, b) => a - b);
const baseline = baselineTimes[ROUNDS >> 1] as number;

const f = (us: number): string => `${us.toFixed(1)} us`;
console.log(`N = ${N}, median of ${ROUNDS} rounds, Node ${process.version}`);
console.log(`baseline, whole run per filesystem:              ${f(baseline)}`);
console.log(`XState actor (create, start, stop):              ${f(actorUs)}`);
console.log(`XState event (send, 1 transition, 1 assign):     ${f(eventUs)}`);
console.log(`XState pure transition() per event:              ${f(pureUs)}`);
console.log(`machine.transition() with one reused scope:      ${f(reusedScopeUs)}`);
// The fewest events a filesystem needs in a chart of its own: for its planning and each of
// its 3 steps, a grant and a result.
const floor = actorUs + 8 * eventUs;
console.log(
  `floor per filesystem (1 actor + 8 events): ${f(floor)} = ${(floor / baseline).toFixed(1)}x the baseline`,
);
