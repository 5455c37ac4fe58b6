/**
 * Batches XState inspection events into frames, at most one frame per `intervalMs`
 * (~10 a second), so 2,000 filesystems do not flood the page:
 *
 * - an actor keeps only its latest snapshot in a frame (an actor created in the frame needs
 *   none: its `@xstate.actor` message carries the snapshot current at flush time);
 * - at most `maxEventsPerFrame` `@xstate.event` messages, the newest; the rest are counted
 *   in `droppedEvents`;
 * - events are stored as they came and serialised only at flush, so an attempt's big context
 *   is serialised once per frame, not once per change.
 *
 * A machine's graph (`@xrepl.graph`) precedes the first actor of that machine. `extras` adds
 * messages at flush time (the report).
 *
 * While `active()` says nobody consumes frames (no page connected, nothing recorded), no frame
 * is built: events are only kept as above (latest per actor, newest events), so a run that
 * nobody watches pays for little more than XState's own inspection. The first `flush()` after
 * that (a page connects) builds one frame with everything that is pending.
 */
import type { AnyStateMachine, InspectionEvent } from 'xstate';
import type { Frame, InspectMessage, Message } from '../web/protocol.js';
import { machineGraph } from './machine-graph.js';
import {
  convertInspectionEvent,
  DEFAULT_LIMITS,
  machineIdOf,
  machineOf,
  type SerializeLimits,
} from './serialize.js';

/** Time and timers, injectable for deterministic tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface CoalescerOptions {
  /** Called with every non-empty frame. */
  onFrame: (frame: Frame) => void;
  /** Minimum time between two frames (default 100 ms). */
  intervalMs?: number;
  /** Newest `@xstate.event` messages kept per frame (default 500). */
  maxEventsPerFrame?: number;
  /** Messages to append at flush time, e.g. the report (called once per flush). */
  extras?: () => Message[];
  limits?: SerializeLimits;
  clock?: Clock;
  /** Whether frames are consumed now (default: always); without consumers none is scheduled. */
  active?: () => boolean;
}

interface Observed {
  ev: InspectionEvent;
  at: number;
  /** The actor of another system that the root of this one is shown under (inspectUnder). */
  parent?: string;
}

/**
 * @example
 * const c = new Coalescer({ onFrame: (f) => ws.send(JSON.stringify(f)) });
 * createActor(machine, { inspect: c.inspect }).start();
 */
export class Coalescer {
  private readonly intervalMs: number;
  private readonly maxEvents: number;
  private readonly clock: Clock;
  private readonly limits: SerializeLimits;
  private actors = new Map<string, Observed>();
  private snapshots = new Map<string, Observed>();
  private events: Observed[] = [];
  private dropped = 0;
  private readonly graphsSent = new Set<string>();
  private timer: unknown = null;
  private lastFlush = -Infinity;
  private seq = 0;
  private closed = false;
  /** Time spent in `build` (serialising) and in `extras` within it, ms total. */
  readonly timing = { buildMs: 0, extrasMs: 0 };

  constructor(private readonly options: CoalescerOptions) {
    this.intervalMs = options.intervalMs ?? 100;
    this.maxEvents = options.maxEventsPerFrame ?? 500;
    this.clock = options.clock ?? realClock;
    this.limits = options.limits ?? DEFAULT_LIMITS;
  }

  /** The inspection observer: pass it as `createActor(..., { inspect })`. */
  readonly inspect = (ev: unknown): void => {
    if (this.closed || typeof ev !== 'object' || ev === null) return;
    this.push(ev as InspectionEvent);
  };

  /**
   * An inspection observer for an actor system started by an actor of another one (a daemon
   * job's run: `replicate()` creates its own root actor): that root is shown as a child of
   * the actor `parentSessionId`.
   *
   * @example
   * replicate(config, planner, { inspect: coalescer.inspectUnder(jobActor.sessionId) });
   */
  inspectUnder(parentSessionId: string): (ev: unknown) => void {
    return (ev) => {
      if (this.closed || typeof ev !== 'object' || ev === null) return;
      this.push(ev as InspectionEvent, parentSessionId);
    };
  }

  /** Takes one inspection event into the current frame (`parent`: see inspectUnder). */
  push(ev: InspectionEvent, parent?: string): void {
    const sessionId = (ev.actorRef as { sessionId?: string } | undefined)?.sessionId;
    if (sessionId === undefined) return;
    const at = this.clock.now();
    switch (ev.type) {
      case '@xstate.actor':
        this.actors.set(sessionId, parent === undefined ? { ev, at } : { ev, at, parent });
        this.snapshots.delete(sessionId);
        break;
      case '@xstate.snapshot':
        if (this.actors.has(sessionId)) return;
        this.snapshots.delete(sessionId); // re-insert: frame order follows the latest change
        this.snapshots.set(sessionId, { ev, at });
        break;
      case '@xstate.event':
        this.events.push({ ev, at });
        if (this.events.length > 2 * this.maxEvents) this.trimEvents();
        break;
      default:
        return;
    }
    this.schedule();
  }

  /** Asks for a frame soon even without inspection events (e.g. to push a fresh report). */
  requestFlush(): void {
    if (!this.closed) this.schedule();
  }

  /** Builds and emits the pending frame now; returns it, or null if it had no messages. */
  flush(): Frame | null {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
    this.lastFlush = this.clock.now();
    const t0 = performance.now();
    const frame = this.build();
    this.timing.buildMs += performance.now() - t0;
    if (frame !== null) this.options.onFrame(frame);
    return frame;
  }

  /** Flushes what is pending (if anyone consumes it) and stops; later events are ignored. */
  close(): void {
    if (this.closed) return;
    if (this.options.active?.() ?? true) this.flush();
    else if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.closed = true;
  }

  private schedule(): void {
    if (this.timer !== null || !(this.options.active?.() ?? true)) return;
    const delay = Math.max(0, this.lastFlush + this.intervalMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delay);
  }

  private trimEvents(): void {
    const excess = this.events.length - this.maxEvents;
    if (excess > 0) {
      this.events.splice(0, excess);
      this.dropped += excess;
    }
  }

  private build(): Frame | null {
    this.trimEvents();
    const messages: Message[] = [];
    const convert = (o: Observed): InspectMessage | null => {
      const msg = convertInspectionEvent(o.ev, o.at, this.limits);
      if (msg?.type === '@xstate.actor' && msg.parentId === undefined) msg.parentId = o.parent;
      return msg;
    };
    for (const o of this.actors.values()) {
      const machineId = machineIdOf(o.ev.actorRef);
      if (machineId !== null && !this.graphsSent.has(machineId)) {
        this.graphsSent.add(machineId);
        const machine = machineOf(o.ev.actorRef) as unknown as AnyStateMachine;
        messages.push({ type: '@xrepl.graph', graph: machineGraph(machine) });
      }
      const msg = convert(o);
      if (msg !== null) messages.push(msg);
    }
    for (const o of this.events) {
      const msg = convert(o);
      if (msg !== null) messages.push(msg);
    }
    for (const o of this.snapshots.values()) {
      const msg = convert(o);
      if (msg !== null) messages.push(msg);
    }
    if (this.options.extras !== undefined) {
      const t0 = performance.now();
      messages.push(...this.options.extras());
      this.timing.extrasMs += performance.now() - t0;
    }
    const droppedEvents = this.dropped;
    this.actors = new Map();
    this.snapshots = new Map();
    this.events = [];
    this.dropped = 0;
    if (messages.length === 0 && droppedEvents === 0) return null;
    return { seq: this.seq++, time: this.lastFlush, droppedEvents, messages };
  }
}
