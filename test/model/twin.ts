/**
 * Model-based testing support.
 *
 * `createTestModel` (xstate/graph) refuses machines with invocations and delayed transitions,
 * and ours have both: the invoked actors are the planner calls. `testTwin` builds the same
 * chart with every `invoke` turned into its `xstate.done.actor.<id>` / `xstate.error.actor.<id>`
 * transitions and every `after` into its `xstate.after.<delay>.<state id>` transition: the same
 * states, the same transitions under the same event types, the same implementations. Paths
 * generated from the twin are then executed against the real driver.
 */
import { createActor, createMachine, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { until } from '../helpers/deferred.js';

type StateConfig = Record<string, unknown> & {
  states?: Record<string, StateConfig>;
  on?: Record<string, unknown>;
  invoke?: { id: string; onDone?: unknown; onError?: unknown } | { id: string }[];
  after?: Record<string, unknown>;
};

function transform(config: StateConfig, id: string): StateConfig {
  const { invoke, after, states, on, ...rest } = config;
  const out: StateConfig = { ...rest };
  const transitions: Record<string, unknown> = { ...(on ?? {}) };
  for (const inv of invoke === undefined ? [] : Array.isArray(invoke) ? invoke : [invoke]) {
    const {
      id: invokeId,
      onDone,
      onError,
    } = inv as { id: string; onDone?: unknown; onError?: unknown };
    if (!invokeId) throw new Error(`invoke without id in ${id}: give it one`);
    if (onDone !== undefined) transitions[`xstate.done.actor.${invokeId}`] = onDone;
    if (onError !== undefined) transitions[`xstate.error.actor.${invokeId}`] = onError;
  }
  for (const [delay, target] of Object.entries(after ?? {})) {
    transitions[`xstate.after.${delay}.${id}`] = target;
  }
  if (Object.keys(transitions).length > 0) out.on = transitions;
  if (states !== undefined) {
    out.states = Object.fromEntries(
      Object.entries(states).map(([key, child]) => [key, transform(child, `${id}.${key}`)]),
    );
  }
  return out;
}

/** The machine's invocation-free, delay-free twin (see above). */
export function testTwin<T extends AnyStateMachine>(machine: T): T {
  const config = machine.config as unknown as StateConfig & { id: string };
  return createMachine(transform(config, config.id) as never).provide(
    machine.implementations as never,
  ) as unknown as T;
}

/** Every state node id of a machine, from its definition. */
export function allStates(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  const walk = (node: AnyStateNode): void => {
    out.push(node.id);
    for (const child of Object.values(node.states)) walk(child as AnyStateNode);
  };
  walk(machine.root);
  return out.sort();
}

/** A transition's identity: source state, event type, position among that event's branches. */
export function transitionKey(t: { source: AnyStateNode; eventType: string }): string {
  const { source } = t;
  const list =
    t.eventType === '' ? (source.always ?? []) : (source.transitions.get(t.eventType) ?? []);
  const index = (list as unknown[]).indexOf(t);
  return `${source.id} --${t.eventType || '(always)'}[${index}]`;
}

/** Every transition of a machine, from its definition (on, always, invoke, after). */
export function allTransitions(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  const walk = (node: AnyStateNode): void => {
    for (const [, list] of node.transitions) {
      for (const t of list) out.push(transitionKey(t as never));
    }
    for (const t of node.always ?? []) out.push(transitionKey(t as never));
    for (const child of Object.values(node.states)) walk(child as AnyStateNode);
  };
  walk(machine.root);
  return out.sort();
}

/**
 * Runs `events` on an actor of `machine` and returns the states entered and transitions taken
 * (read from the inspection API's microsteps).
 */
export function coverageOf(
  machine: AnyStateMachine,
  input: unknown,
  events: { type: string }[],
  parent?: unknown,
): { states: Set<string>; transitions: Set<string> } {
  const states = new Set<string>();
  const transitions = new Set<string>();
  const record = (snapshot: { _nodes?: AnyStateNode[] }): void => {
    for (const n of snapshot._nodes ?? []) states.add(n.id);
  };
  // The initial microsteps happen inside createActor, before `actor` is assigned.
  const holder: { actor?: ReturnType<typeof createActor> } = {};
  const actor = createActor(machine, {
    input,
    ...(parent !== undefined ? { parent: parent as never } : {}),
    inspect: (ev) => {
      if (
        ev.type === '@xstate.microstep' &&
        (holder.actor === undefined || ev.actorRef === holder.actor)
      ) {
        for (const t of ev._transitions) transitions.add(transitionKey(t as never));
        record(ev.snapshot as never);
      }
    },
  });
  holder.actor = actor;
  actor.start();
  record(actor.getSnapshot() as never);
  for (const e of events) {
    actor.send(e as never);
    record(actor.getSnapshot() as never);
  }
  actor.stop();
  return { states, transitions };
}

/** A path's name for the test list: its events, short. */
export function pathName(steps: { event: { type: string; label?: string } }[]): string {
  const names = steps
    .map((s) => s.event.label ?? s.event.type)
    .filter((t) => t !== 'xstate.init')
    .map((t) =>
      t.replace(/^xstate\.(done|error)\.actor\./, (_, kind: string) =>
        kind === 'done' ? '✓' : '✗',
      ),
    );
  return names.length === 0 ? '(initial state)' : names.join(' → ');
}

/**
 * Replays every path's events on the machine and returns what the paths cover, next to what
 * the machine defines.
 */
export function pathCoverage(
  machine: AnyStateMachine,
  input: unknown,
  paths: { steps: { event: { type: string } }[] }[],
): {
  states: string[];
  transitions: string[];
  coveredStates: Set<string>;
  coveredTransitions: Set<string>;
} {
  const coveredStates = new Set<string>();
  const coveredTransitions = new Set<string>();
  for (const path of paths) {
    const events = path.steps.map((s) => s.event).filter((e) => e.type !== 'xstate.init');
    const { states, transitions } = coverageOf(machine, input, events);
    for (const s of states) coveredStates.add(s);
    for (const t of transitions) coveredTransitions.add(t);
  }
  return {
    states: allStates(machine),
    transitions: allTransitions(machine),
    coveredStates,
    coveredTransitions,
  };
}

interface GeneratedPath {
  steps: { event: { type: string } }[];
}

/**
 * The tests every statechart model gets: the twin matches the machine, the generated paths
 * cover every state and transition, and each shortest and simple path (those `keep` accepts)
 * runs against the SUT through `runPath`.
 */
export function describeModel<P extends GeneratedPath>(options: {
  machine: AnyStateMachine;
  twin: AnyStateMachine;
  input: unknown;
  model: { getShortestPaths(): P[]; getSimplePaths(): P[] };
  runPath: (path: P) => Promise<void>;
  keep?: (path: P) => boolean;
}): void {
  const { machine, twin, input, model, runPath, keep = () => true } = options;
  const shortest = model.getShortestPaths().filter(keep);
  const simple = model.getSimplePaths().filter(keep);
  const named = (paths: P[]) => paths.map((p) => [pathName(p.steps), p] as const);

  test('the twin has exactly the states and transitions of the machine (invocations and delays included)', () => {
    expect(allTransitions(twin)).toEqual(allTransitions(machine));
    expect(allStates(twin)).toEqual(allStates(machine));
  });

  test('the generated paths cover every state and every transition of the machine', () => {
    const c = pathCoverage(twin, input, [...shortest, ...simple]);
    expect(c.states.filter((s) => !c.coveredStates.has(s))).toEqual([]);
    expect(c.transitions.filter((t) => !c.coveredTransitions.has(t))).toEqual([]);
  });

  describe('shortest paths', () => {
    test.each(named(shortest))('%s', async (_, path) => {
      await runPath(path);
    });
  });

  describe('simple paths', () => {
    test.each(named(simple))('%s', async (_, path) => {
      await runPath(path);
    });
  });
}

/**
 * The test model of a twin: `events(state)` lists the events to try in a state (the traversal
 * also adds a bare `{ type }` for every event a state handles that `events` left out on
 * purpose, e.g. a second PARENT_FAILED from the only parent: only ours are kept), and
 * `key(state)` what tells two states apart.
 */
export function modelOf<S, E extends { type: string }>(
  twin: AnyStateMachine,
  options: { input: unknown; events: (state: S) => E[]; key: (state: S) => unknown[] },
) {
  const { input, events, key } = options;
  return createTestModel(twin, {
    input,
    events: events as never,
    filterEvents: ((s: S, e: E) => events(s).some((x) => x.type === e.type)) as never,
    serializeState: ((s: S) => JSON.stringify(key(s))) as never,
  } as never);
}

/** Asserts that `actual()` comes to equal `expected` once the driver's calls have settled. */
export async function expectSettled(actual: () => unknown, expected: unknown): Promise<void> {
  const want = JSON.stringify(expected);
  await until(() => JSON.stringify(actual()) === want, 50).catch(() => undefined);
  expect(actual()).toEqual(expected);
}
