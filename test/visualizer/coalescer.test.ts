import type { InspectionEvent } from 'xstate';
import { filesystemMachine } from '../../machines/filesystem.machine.js';
import { Coalescer, type Clock } from '../../visualizer/server/coalescer.js';
import type { Frame, Message, SnapshotMessage } from '../../visualizer/web/protocol.js';

/** A clock whose timers fire only when the test advances time. */
class FakeClock implements Clock {
  time = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now = (): number => this.time;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, fn, id });
    return id;
  };
  clearTimeout = (id: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };
  get pending(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = until;
  }
}

/** A stand-in actor ref: what the coalescer reads of one. */
function actor(sessionId: string, snapshot: () => unknown, logic?: unknown) {
  return { id: sessionId, sessionId, send() {}, getSnapshot: snapshot, logic, _parent: undefined };
}

function setup(
  options: { maxEventsPerFrame?: number; extras?: () => Message[]; active?: () => boolean } = {},
) {
  const clock = new FakeClock();
  const frames: Frame[] = [];
  const c = new Coalescer({ clock, intervalMs: 100, onFrame: (f) => frames.push(f), ...options });
  return { clock, frames, c };
}

const snap = (a: ReturnType<typeof actor>, value: string, event = 'E'): InspectionEvent =>
  ({
    type: '@xstate.snapshot',
    actorRef: a,
    rootId: 'x:0',
    snapshot: { status: 'active', value },
    event: { type: event },
  }) as unknown as InspectionEvent;
const sent = (a: ReturnType<typeof actor>, type: string): InspectionEvent =>
  ({
    type: '@xstate.event',
    actorRef: a,
    rootId: 'x:0',
    event: { type },
    sourceRef: undefined,
  }) as unknown as InspectionEvent;
const created = (a: ReturnType<typeof actor>): InspectionEvent =>
  ({ type: '@xstate.actor', actorRef: a, rootId: 'x:0' }) as unknown as InspectionEvent;

describe('coalescing inspection events into frames', () => {
  test('a burst becomes one frame; then at most one frame per interval', () => {
    const { clock, frames, c } = setup();
    const a = actor('x:1', () => ({ status: 'active', value: 'a' }));
    for (let i = 0; i < 1000; i++) c.inspect(sent(a, `E${i}`));
    expect(frames).toHaveLength(0); // nothing is sent synchronously
    clock.advance(0);
    expect(frames).toHaveLength(1);
    c.inspect(sent(a, 'late'));
    clock.advance(99);
    expect(frames).toHaveLength(1); // 100 ms have not passed since the last frame
    clock.advance(1);
    expect(frames).toHaveLength(2);
    expect(frames.map((f) => f.seq)).toEqual([0, 1]);
    c.close();
  });

  test('an actor keeps only its latest snapshot in a frame', () => {
    const { clock, frames, c } = setup();
    const a = actor('x:1', () => null);
    const b = actor('x:2', () => null);
    c.inspect(snap(a, 'one'));
    c.inspect(snap(b, 'b1'));
    c.inspect(snap(a, 'two', 'GO'));
    c.inspect(snap(a, 'three', 'STOP'));
    clock.advance(0);
    const snaps =
      frames[0]?.messages.filter((m): m is SnapshotMessage => m.type === '@xstate.snapshot') ?? [];
    expect(snaps.map((m) => [m.sessionId, m.snapshot.value, m.event.type])).toEqual([
      ['x:2', 'b1', 'E'],
      ['x:1', 'three', 'STOP'],
    ]);
    c.close();
  });

  test('an actor created in the frame is sent once, with the snapshot current at flush time', () => {
    const { clock, frames, c } = setup();
    let value = 'start';
    const a = actor('x:1', () => ({ status: 'active', value }));
    c.inspect(created(a));
    c.inspect(snap(a, 'middle'));
    value = 'end';
    clock.advance(0);
    const msgs = frames[0]?.messages ?? [];
    expect(msgs.map((m) => m.type)).toEqual(['@xstate.actor']);
    expect(msgs[0]).toMatchObject({ sessionId: 'x:1', snapshot: { value: 'end' } });
    c.close();
  });

  test('keeps the newest events up to the cap and counts the dropped ones', () => {
    const { clock, frames, c } = setup({ maxEventsPerFrame: 10 });
    const a = actor('x:1', () => null);
    for (let i = 0; i < 35; i++) c.inspect(sent(a, `E${i}`));
    clock.advance(0);
    const f = frames[0] as Frame;
    expect(f.droppedEvents).toBe(25);
    expect(f.messages.map((m) => (m.type === '@xstate.event' ? m.event.type : m.type))).toEqual(
      Array.from({ length: 10 }, (_, i) => `E${25 + i}`),
    );
    c.close();
  });

  test("a machine's graph precedes its first actor, once", () => {
    const { clock, frames, c } = setup();
    const snapshot = () => ({
      status: 'active',
      value: { planning: 'waiting-for-slot' },
      context: {},
    });
    c.inspect(created(actor('x:1', snapshot, filesystemMachine)));
    c.inspect(created(actor('x:2', snapshot, filesystemMachine)));
    clock.advance(200);
    c.inspect(created(actor('x:3', snapshot, filesystemMachine)));
    clock.advance(200);
    const types = frames.map((f) =>
      f.messages.map((m) => (m.type === '@xrepl.graph' ? `graph:${m.graph.id}` : m.type)),
    );
    expect(types).toEqual([
      ['graph:filesystem', '@xstate.actor', '@xstate.actor'],
      ['@xstate.actor'],
    ]);
    c.close();
  });

  test('extras (the report) are added at flush; requestFlush sends them without events', () => {
    let n = 0;
    const { clock, frames, c } = setup({
      extras: () => [{ type: '@xrepl.report', createdAt: String(++n), report: {} as never }],
    });
    c.requestFlush();
    clock.advance(0);
    expect(frames[0]?.messages).toEqual([{ type: '@xrepl.report', createdAt: '1', report: {} }]);
    c.close();
  });

  test('empty frames are not sent; close flushes what is pending and stops', () => {
    const { clock, frames, c } = setup({ extras: () => [] });
    c.requestFlush();
    clock.advance(0);
    expect(frames).toHaveLength(0);
    c.inspect(
      sent(
        actor('x:1', () => null),
        'LAST',
      ),
    );
    c.close();
    expect(frames).toHaveLength(1);
    expect(clock.pending).toBe(0);
    c.inspect(
      sent(
        actor('x:1', () => null),
        'AFTER',
      ),
    );
    clock.advance(1000);
    expect(frames).toHaveLength(1);
  });

  test('without consumers nothing is built; the next flush holds what is pending', () => {
    let watched = false;
    let reports = 0;
    const { clock, frames, c } = setup({
      active: () => watched,
      maxEventsPerFrame: 2,
      extras: () => [{ type: '@xrepl.report', createdAt: String(++reports), report: {} as never }],
    });
    const a = actor('x:1', () => ({ status: 'active', value: 'running' }));
    const b = actor('x:2', () => ({ status: 'done', value: 'done' }));
    c.inspect(created(a));
    c.inspect(snap(b, 'waiting'));
    for (let i = 0; i < 5; i++) c.inspect(sent(a, `E${i}`));
    c.inspect(snap(b, 'done'));
    c.requestFlush();
    expect(clock.pending).toBe(0); // no timer: no frame, no report
    clock.advance(1000);
    expect([frames.length, reports]).toEqual([0, 0]);

    watched = true; // a page connects: one frame with everything pending
    const frame = c.flush();
    expect(frames).toEqual([frame]);
    expect(reports).toBe(1);
    expect(frame?.droppedEvents).toBe(3);
    const kinds = frame?.messages.map((m) =>
      m.type === '@xstate.event' ? `event ${m.event.type}` : m.type,
    );
    expect(kinds).toEqual([
      '@xstate.actor',
      'event E3',
      'event E4',
      '@xstate.snapshot',
      '@xrepl.report',
    ]);
    const last = frame?.messages[3] as SnapshotMessage;
    expect(last.snapshot.value).toBe('done');

    c.inspect(sent(a, 'LATER')); // consumed now: frames are scheduled again
    expect(clock.pending).toBe(1);
    watched = false;
    c.close(); // nobody to flush for
    expect(frames).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });
});
