import { assign, createActor, fromPromise, setup, type InspectionEvent } from 'xstate';
import {
  convertInspectionEvent,
  serializeSnapshot,
  toJson,
} from '../../visualizer/server/serialize.js';
import type { ActorMessage, SnapshotMessage } from '../../visualizer/web/protocol.js';
import { deferred, flush } from '../helpers/deferred.js';

class Planner {
  log = [{ huge: 'x'.repeat(10) }];
}

describe('toJson keeps the serialisable parts', () => {
  test('drops functions, undefined and AbortSignals; Dates become ISO strings', () => {
    const value = {
      at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
      now: () => new Date(),
      signal: new AbortController().signal,
      missing: undefined,
      n: 1,
    };
    expect(toJson(value)).toEqual({ at: '2024-01-02T03:04:05.000Z', n: 1 });
  });

  test('actor refs become { id, sessionId }', () => {
    const actor = createActor(setup({}).createMachine({}), { id: 'queue' });
    expect(toJson({ queue: actor })).toEqual({
      queue: { id: 'queue', sessionId: actor.sessionId },
    });
  });

  test('errors become { name, message, code }; class instances a marker', () => {
    const err = Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' });
    expect(toJson({ err, fs: new Planner() })).toEqual({
      err: { name: 'Error', message: 'connect ETIMEDOUT', code: 'ETIMEDOUT' },
      fs: '[Planner]',
    });
  });

  test('cycles, depth, long arrays and long strings are bounded', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(toJson(cyclic)).toEqual({ a: 1, self: '[circular]' });
    const limits = { maxDepth: 2, maxArray: 3, maxString: 5 };
    expect(toJson({ a: { b: { c: 1 } } }, limits)).toEqual({ a: { b: '[…]' } });
    expect(toJson([1, 2, 3, 4, 5], limits)).toEqual([1, 2, 3, '… 2 more']);
    expect(toJson('abcdefgh', limits)).toBe('abcde…');
    expect(toJson([() => 1, NaN])).toEqual([null, 'NaN']);
  });

  test('a shared (non-cyclic) object is serialised each time it appears', () => {
    const shared = { x: 1 };
    expect(toJson({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });
});

describe('serializeSnapshot', () => {
  test('keeps status, value, context, output, error; drops internals', () => {
    const snap = {
      status: 'done',
      value: { stepping: 'running' },
      context: { name: 'pool/a', signal: new AbortController().signal },
      output: { index: 3 },
      error: undefined,
      children: { x: 1 },
      machine: {},
      historyValue: {},
    };
    expect(serializeSnapshot(snap)).toEqual({
      status: 'done',
      value: { stepping: 'running' },
      context: { name: 'pool/a' },
      output: { index: 3 },
    });
  });
});

describe('inspection events in the @statelyai/inspect shape', () => {
  const child = setup({
    actors: { work: fromPromise<number, { gate: Promise<number> }>(({ input }) => input.gate) },
  }).createMachine({
    id: 'child',
    context: ({ input }: { input: { gate: Promise<number> } }) => ({
      gate: input.gate,
      result: 0,
      at: new Date(0),
    }),
    initial: 'working',
    states: {
      working: {
        invoke: {
          src: 'work',
          input: ({ context }) => ({ gate: context.gate }),
          onDone: { target: 'done', actions: assign({ result: ({ event }) => event.output }) },
        },
      },
      done: { type: 'final' },
    },
  });
  const parent = setup({
    types: { input: {} as { gate: Promise<number> } },
    actors: { child },
  }).createMachine({
    id: 'parent',
    context: ({ spawn, input }) => ({ kid: spawn('child', { id: 'kid-0', input }) }),
  });

  async function inspected(): Promise<{
    events: InspectionEvent[];
    stop(): void;
    release(n: number): void;
  }> {
    const events: InspectionEvent[] = [];
    const gate = deferred<number>();
    const actor = createActor(parent, {
      input: { gate: gate.promise },
      inspect: (ev) => events.push(ev),
    });
    actor.start();
    await flush();
    return { events, stop: () => actor.stop(), release: (n) => gate.resolve(n) };
  }

  test('@xstate.actor: session id, parent id, name, machine, serialisable snapshot', async () => {
    const run = await inspected();
    const msgs = run.events
      .filter((e) => e.type === '@xstate.actor')
      .map((e) => convertInspectionEvent(e, 1000) as ActorMessage);
    const root = msgs.find((m) => m.machine === 'parent') as ActorMessage;
    const kid = msgs.find((m) => m.name === 'kid-0') as ActorMessage;
    expect(root).toMatchObject({
      type: '@xstate.actor',
      name: 'parent',
      parentId: undefined,
      createdAt: '1000',
      id: null,
    });
    expect(root._version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(kid).toMatchObject({
      parentId: root.sessionId,
      machine: 'child',
      rootId: root.sessionId,
    });
    expect(kid.snapshot).toEqual({
      status: 'active',
      value: 'working',
      context: { gate: '[Promise]', result: 0, at: '1970-01-01T00:00:00.000Z' },
    });
    expect((root.snapshot.context as { kid: unknown }).kid).toEqual({
      id: 'kid-0',
      sessionId: kid.sessionId,
    });
    const promise = msgs.find((m) => m.machine === null);
    expect(promise?.parentId).toBe(kid.sessionId);
    run.stop();
  });

  test('@xstate.event and @xstate.snapshot carry the event; everything is JSON', async () => {
    const run = await inspected();
    run.release(42);
    await flush();
    const msgs = run.events.map((e) => convertInspectionEvent(e, 5)).filter((m) => m !== null);
    const done = msgs.find(
      (m) => m.type === '@xstate.snapshot' && m.snapshot.value === 'done',
    ) as SnapshotMessage;
    expect(done.event.type).toMatch(/^xstate\.done\.actor\./);
    expect(done.snapshot).toMatchObject({ status: 'done', context: { result: 42 } });
    const sent = msgs.find((m) => m.type === '@xstate.event' && m.event.type === done.event.type);
    expect(sent).toMatchObject({ sessionId: done.sessionId, event: { output: 42 } });
    expect(typeof (sent as { sourceId?: string }).sourceId).toBe('string');
    for (const m of msgs) expect(JSON.parse(JSON.stringify(m))).toEqual(m);
    run.stop();
  });

  test('microsteps, actions and transitions are left out', async () => {
    const run = await inspected();
    const kinds = new Set(run.events.map((e) => e.type));
    const kept = new Set(
      run.events.filter((e) => convertInspectionEvent(e, 0) !== null).map((e) => e.type),
    );
    expect([...kept].sort()).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
    expect(kinds.size).toBeGreaterThanOrEqual(kept.size);
    run.stop();
  });
});
