import type { AnyStateMachine } from 'xstate';
import { attemptMachine } from '../../machines/attempt.machine.js';
import { filesystemMachine } from '../../machines/filesystem.machine.js';
import { runMachine } from '../../machines/run.machine.js';
import { driverGraphs, machineGraph } from '../../visualizer/server/machine-graph.js';
import type { GraphTransition, MachineGraph } from '../../visualizer/web/protocol.js';

/**
 * The expected states and transitions, read from the raw config objects the machines were
 * written as (not from XState's StateNode tree, which the conversion reads).
 */
interface RawState {
  on?: Record<string, unknown>;
  always?: unknown;
  after?: Record<string, unknown>;
  invoke?: unknown;
  states?: Record<string, RawState>;
}

function toArray(x: unknown): unknown[] {
  return x === undefined ? [] : Array.isArray(x) ? x : [x];
}

function expectedFrom(machine: AnyStateMachine): { states: string[]; transitions: string[] } {
  const rootId = machine.config.id as string;
  const states: string[] = [];
  const transitions: string[] = [];
  const walk = (config: RawState, path: string[]): void => {
    const id = [rootId, ...path].join('.');
    states.push(id);
    const resolve = (target: unknown): string => {
      if (target === undefined) return '';
      return toArray(target)
        .map((t) => {
          const s = t as string;
          if (s.startsWith('#')) return s.slice(1);
          return [rootId, ...path.slice(0, -1), s].join('.');
        })
        .join(',');
    };
    const add = (eventKey: string, spec: unknown): void => {
      for (const candidate of toArray(spec)) {
        const c =
          typeof candidate === 'string'
            ? { target: candidate }
            : (candidate as { target?: unknown; guard?: unknown });
        const guard = typeof c.guard === 'string' ? c.guard : '';
        transitions.push(`${id} | ${eventKey} | ${resolve(c.target)} | ${guard}`);
      }
    };
    for (const [event, spec] of Object.entries(config.on ?? {})) add(event, spec);
    add('always', config.always);
    for (const [delay, spec] of Object.entries(config.after ?? {})) add(`after ${delay}`, spec);
    for (const inv of toArray(config.invoke) as {
      src: string;
      onDone?: unknown;
      onError?: unknown;
    }[]) {
      add(`done: ${inv.src}`, inv.onDone);
      add(`error: ${inv.src}`, inv.onError);
    }
    for (const [key, child] of Object.entries(config.states ?? {})) walk(child, [...path, key]);
  };
  walk(machine.config as RawState, []);
  return { states, transitions };
}

function keyOf(graph: MachineGraph, t: GraphTransition): string {
  const state = graph.states.find((s) => s.id === t.source);
  const invoked = state?.invoke.some((i) => t.event.endsWith(`.actor.${i.id}`)) ?? false;
  const eventKey = t.kind === 'always' || t.kind === 'after' || invoked ? t.label : t.event;
  return `${t.source} | ${eventKey} | ${t.targets.join(',')} | ${t.guard ?? ''}`;
}

describe.each([
  ['run', runMachine],
  ['attempt', attemptMachine],
  ['filesystem', filesystemMachine],
])('machine graph of %s', (_name, machine) => {
  const graph = machineGraph(machine as AnyStateMachine);
  const expected = expectedFrom(machine as AnyStateMachine);

  test('has every state of the definition, once', () => {
    expect(graph.states.map((s) => s.id).sort()).toEqual([...expected.states].sort());
  });

  test('has every transition of the definition (on, always, after, onDone, onError), with guards', () => {
    expect(graph.transitions.map((t) => keyOf(graph, t)).sort()).toEqual(
      [...expected.transitions].sort(),
    );
  });

  test('labels every transition with its event', () => {
    for (const t of graph.transitions) {
      expect(t.label).not.toBe('');
      if (t.kind === 'event') expect(t.label).toBe(t.event);
    }
  });

  test('targets and parents are states of the graph; ids are unique', () => {
    const ids = new Set(graph.states.map((s) => s.id));
    expect(ids.size).toBe(graph.states.length);
    expect(new Set(graph.transitions.map((t) => t.id)).size).toBe(graph.transitions.length);
    for (const t of graph.transitions)
      for (const target of t.targets) expect(ids).toContain(target);
    for (const s of graph.states) {
      if (s.parent !== null) expect(ids).toContain(s.parent);
      if (s.initial !== null) expect(ids).toContain(s.initial);
    }
  });

  test('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(graph))).toEqual(graph);
  });
});

describe('machine graph details', () => {
  const fs = machineGraph(filesystemMachine);
  const run = machineGraph(runMachine);

  test('names invoked actors in done/error labels and keeps the actions', () => {
    const attempt = machineGraph(attemptMachine);
    const done = attempt.transitions.filter(
      (t) => t.source === 'attempt.planning' && t.kind === 'done',
    );
    expect(done.map((t) => [t.label, t.guard, t.targets, t.actions])).toEqual([
      ['done: plan', 'cancelled', ['attempt.planning-error'], ['recordPlanError']],
      ['done: plan', null, ['attempt.fan-out-filesystems'], ['acceptPlan']],
    ]);
    const error = attempt.transitions.find(
      (t) => t.source === 'attempt.planning' && t.kind === 'error',
    );
    expect(error).toMatchObject({
      label: 'error: plan',
      targets: ['attempt.planning-error'],
      actions: ['recordPlanError'],
    });
  });

  test("a filesystem's calls: entry actions that ask, events that answer", () => {
    const running = fs.states.find((s) => s.id === 'filesystem.stepping.running');
    expect(running?.entry).toEqual(['callStep']);
    const failed = fs.transitions.filter(
      (t) => t.source === 'filesystem.stepping.running' && t.event === 'STEP_FAILED',
    );
    // D13 re-plans, D14 waits to retry, else the step error ends it.
    expect(failed.map((t) => [t.guard, t.targets, t.actions])).toEqual([
      [
        'canReplan',
        ['filesystem.planning.waiting-for-slot'],
        ['startReplan', 'requeueForPlanning'],
      ],
      ['canRetry', ['filesystem.retry-wait'], ['startRetryWait', 'releaseSlot']],
      [null, ['filesystem.step-error'], ['recordStepError', 'releaseSlot']],
    ]);
  });

  test('retry-wait: drawn with its tag, its delayed transition back to planning and its cancel (D14)', () => {
    const wait = fs.states.find((s) => s.id === 'filesystem.retry-wait');
    expect(wait).toMatchObject({ type: 'atomic', tags: ['retry-backoff'] });
    const out = fs.transitions.filter((t) => t.source === 'filesystem.retry-wait');
    expect(out.map((t) => [t.kind, t.label, t.targets])).toEqual([
      ['event', 'CANCEL', ['filesystem.step-error']],
      ['after', 'after retryBackoff', ['filesystem.planning']],
    ]);
  });

  test('keeps targetless transitions, the delayed ones and reentry', () => {
    const cancel = fs.transitions.find(
      (t) => t.source === 'filesystem.planning.running' && t.event === 'CANCEL',
    );
    expect(cancel?.targets).toEqual([]);
    const after = run.transitions.filter((t) => t.kind === 'after');
    expect(after.map((t) => [t.label, t.guard, t.reenter])).toEqual([
      ['after reconnectChunk', 'lastReconnectChunk', false],
      ['after reconnectChunk', null, true],
    ]);
  });

  test('state types, initial states and entry actions come from the definition', () => {
    const root = fs.states[0];
    expect(root).toMatchObject({
      id: 'filesystem',
      type: 'compound',
      initial: 'filesystem.planning',
      parent: null,
    });
    expect(fs.states.find((s) => s.id === 'filesystem.done')?.type).toBe('final');
    // The first planning request is the chart's entry; a re-plan asks on its transition (D13).
    expect(fs.states.find((s) => s.id === 'filesystem')?.entry).toEqual(['requestPlanSlot']);
    expect(fs.states.find((s) => s.id === 'filesystem.planning.waiting-for-slot')?.entry).toEqual(
      [],
    );
    // XState adds raise/cancel actions for `after` itself; the chart shows the definition.
    expect(run.states.find((s) => s.id === 'run.waiting-reconnect.timer')?.entry).toEqual([]);
  });

  test('driverGraphs gives run, attempt and filesystem', () => {
    expect(driverGraphs().map((g) => g.id)).toEqual(['run', 'attempt', 'filesystem']);
  });
});
