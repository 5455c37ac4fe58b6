/**
 * The step queue (D8) as actor logic of its own: one per attempt, it bounds how many fs
 * plannings and steps run at once and decides who goes next.
 *
 * - Plannings all share one priority, ahead of every step (D4): they wait in a FIFO, O(1) each.
 *   Steps wait in a binary heap ordered by (targetDate, request order); an invalid date (NaN)
 *   sorts after every valid one.
 * - `RELEASE` with `next` is the "same round" rule: the releasing filesystem's new request is
 *   registered before the freed slot is handed out.
 * - `WITHDRAW` removes a waiter at once (lazy deletion); withdrawing a request that was
 *   already granted frees its slot, so a grant in flight to a cancelled filesystem never leaks.
 *
 * Grants are sent to the requesting actor as `{ type: 'GRANTED' }` through the injected
 * Scheduler, so a long run of grants for steps that resolve at once gives the event loop a
 * turn now and then; who is admitted is decided here, at once, whatever the delivery. The
 * logic is pure apart from those sends, which go through `actorScope.defer` like XState's own
 * actions.
 */
import type { ActorLogic, AnyActorRef, Snapshot } from 'xstate';
import { synchronousScheduler } from './scheduler.js';
import { StepHeap, type Ticket } from './step-heap.js';
import type { Scheduler } from './types.js';

export type StepQueueEvent =
  /** `date`: milliseconds of the step's targetDate (NaN when invalid); null for a planning. */
  | {
      type: 'REQUEST';
      owner: AnyActorRef;
      date: number | null;
      /** A planning again after a retry's back-off (D14): not one of `plannings`. */
      again?: boolean;
    }
  /** Frees the owner's slot; `next` re-requests in the same round (D8). */
  | { type: 'RELEASE'; owner: AnyActorRef; next?: number | null }
  | { type: 'WITHDRAW'; owner: AnyActorRef };

export interface StepQueueInput {
  concurrency: number;
  /** How grants are delivered; default: at once. */
  scheduler?: Scheduler;
  /**
   * Planning requests still to come (default 0). No step is admitted before they are all in,
   * so an attempt that starts its filesystems in chunks admits in the same order as one that
   * starts them all at once: every planning ahead of every step (D4, D8).
   */
  plannings?: number;
}

export interface StepQueueContext {
  concurrency: number;
  /** Slots held right now (admitted and not yet released). */
  held: number;
  /** Requests waiting for a slot. */
  waiting: number;
  /** How many requests were admitted so far. */
  admitted: number;
}

interface Internal {
  /** Planning requests in request order; `head` is the next one to look at. */
  plannings: Ticket[];
  head: number;
  steps: StepHeap;
  /** The live ticket of each owner (by sessionId): waiting or granted. */
  tickets: Map<string, Ticket>;
  seq: number;
  scheduler: Scheduler;
  /** Planning requests announced by the input and not received yet. */
  planningsToCome: number;
}

export type StepQueueSnapshot = Snapshot<undefined> & {
  context: StepQueueContext;
  /** Internal bookkeeping, shared between snapshots: the waiters and each owner's ticket. */
  internal: Internal;
};

const GRANTED = { type: 'GRANTED' } as const;

/** `counted`: a planning request announced by the input (a first planning, not a re-plan). */
function enqueue(
  internal: Internal,
  owner: AnyActorRef,
  date: number | null,
  counted: boolean,
): void {
  const ticket: Ticket = {
    owner,
    date: date === null ? -Infinity : Number.isNaN(date) ? Infinity : date,
    seq: internal.seq++,
    state: 'waiting',
  };
  internal.tickets.set(owner.sessionId, ticket);
  if (date === null) {
    internal.plannings.push(ticket);
    if (counted && internal.planningsToCome > 0) internal.planningsToCome--;
  } else internal.steps.push(ticket);
}

/** The next waiting ticket (plannings first), or undefined; skips withdrawn ones. */
function next(internal: Internal): Ticket | undefined {
  const { plannings } = internal;
  while (internal.head < plannings.length) {
    const ticket = plannings[internal.head++] as Ticket;
    if (internal.head > 1024 && internal.head * 2 > plannings.length) {
      plannings.splice(0, internal.head); // keep the FIFO's dead prefix small
      internal.head = 0;
    }
    if (ticket.state === 'waiting') return ticket;
  }
  if (internal.planningsToCome > 0) return undefined;
  while (internal.steps.size > 0) {
    const ticket = internal.steps.pop() as Ticket;
    if (ticket.state === 'waiting') return ticket;
  }
  return undefined;
}

/** The step queue's logic; spawn it once per attempt with `{ concurrency }`. */
/** Named, so declarations can refer to it (xstate does not export the system type it defaults to). */
export type StepQueueLogic = ActorLogic<StepQueueSnapshot, StepQueueEvent, StepQueueInput>;

export const stepQueueLogic: StepQueueLogic = {
  getInitialSnapshot: (_scope, input) => ({
    status: 'active',
    output: undefined,
    error: undefined,
    context: { concurrency: input.concurrency, held: 0, waiting: 0, admitted: 0 },
    internal: {
      plannings: [],
      head: 0,
      steps: new StepHeap(),
      tickets: new Map(),
      seq: 0,
      scheduler: input.scheduler ?? synchronousScheduler,
      planningsToCome: input.plannings ?? 0,
    },
  }),

  transition: (snapshot, event, scope) => {
    const { internal } = snapshot;
    if ((event as { type: string }).type === 'xstate.stop') {
      return { ...snapshot, status: 'stopped' } as unknown as StepQueueSnapshot;
    }
    if (event.owner === undefined) return snapshot; // not a queue request
    let { held, waiting, admitted } = snapshot.context;
    const current = internal.tickets.get(event.owner.sessionId);
    switch (event.type) {
      case 'REQUEST':
        enqueue(internal, event.owner, event.date, event.again !== true);
        waiting++;
        break;
      case 'RELEASE':
        if (current?.state !== 'granted') return snapshot; // nothing held: ignore
        held--;
        internal.tickets.delete(event.owner.sessionId);
        if (event.next !== undefined) {
          // A planning again (D13) is not one of the announced plannings.
          enqueue(internal, event.owner, event.next, false);
          waiting++;
        }
        break;
      case 'WITHDRAW':
        if (current === undefined) return snapshot;
        if (current.state === 'granted') held--;
        else waiting--;
        current.state = 'withdrawn'; // a withdrawn ticket left in a queue is skipped
        internal.tickets.delete(event.owner.sessionId);
        break;
      default:
        return snapshot;
    }
    const { concurrency } = snapshot.context;
    while (held < concurrency) {
      const ticket = next(internal);
      if (ticket === undefined) break;
      ticket.state = 'granted';
      held++;
      waiting--;
      admitted++;
      const owner = ticket.owner;
      const scheduler = internal.scheduler;
      scope.defer(() => scheduler.run(() => owner.send(GRANTED)));
    }
    return {
      status: snapshot.status,
      output: undefined,
      error: undefined,
      context: { concurrency, held, waiting, admitted },
      internal,
    } as StepQueueSnapshot;
  },

  getPersistedSnapshot: (snapshot) => ({
    status: snapshot.status,
    output: undefined,
    error: undefined,
    context: snapshot.context,
  }),
} as StepQueueLogic;
