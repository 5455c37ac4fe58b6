/**
 * The step queue (D8) as actor logic of its own: one per attempt, it bounds how many fs
 * plannings and steps run at once and decides who goes next.
 *
 * - Requests wait in a binary heap ordered by (plannings first, targetDate, request order);
 *   an invalid date (NaN) sorts after every valid one.
 * - `RELEASE` with `next` is the "same round" rule: the releasing filesystem's new request is
 *   registered before the freed slot is handed out.
 * - `WITHDRAW` removes a waiter at once (lazy deletion); withdrawing a request that was
 *   already granted frees its slot, so a grant in flight to a cancelled filesystem never leaks.
 *
 * Grants are sent to the requesting actor as `{ type: 'GRANTED' }`. The logic is pure apart
 * from those sends, which go through `actorScope.defer` like XState's own actions.
 */
import type { ActorLogic, AnyActorRef, Snapshot } from 'xstate';

export type StepQueueEvent =
  /** `date`: milliseconds of the step's targetDate (NaN when invalid); null for a planning. */
  | { type: 'REQUEST'; owner: AnyActorRef; date: number | null }
  /** Frees the owner's slot; `next` re-requests in the same round (D8). */
  | { type: 'RELEASE'; owner: AnyActorRef; next?: number | null }
  | { type: 'WITHDRAW'; owner: AnyActorRef };

export interface StepQueueInput {
  concurrency: number;
}

interface Ticket {
  owner: AnyActorRef;
  planning: boolean;
  date: number; // NaN mapped to +Infinity
  seq: number;
  state: 'waiting' | 'granted' | 'withdrawn';
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

export type StepQueueSnapshot = Snapshot<undefined> & {
  context: StepQueueContext;
  /** Internal bookkeeping, shared between snapshots: the heap and each owner's ticket. */
  internal: { heap: BinaryHeap<Ticket>; tickets: Map<string, Ticket>; seq: number };
};

/** A binary min-heap: O(log n) push and pop, so admission stays cheap with 100,000 waiters. */
class BinaryHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i] as T, items[parent] as T)) break;
      [items[i], items[parent]] = [items[parent] as T, items[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(items[l] as T, items[m] as T)) m = l;
        if (r < items.length && this.less(items[r] as T, items[m] as T)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m] as T, items[i] as T];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Ticket, b: Ticket): boolean => {
  if (a.planning !== b.planning) return a.planning;
  if (a.date !== b.date) return a.date < b.date;
  return a.seq < b.seq;
};

function enqueue(
  internal: StepQueueSnapshot['internal'],
  owner: AnyActorRef,
  date: number | null,
): void {
  const ticket: Ticket = {
    owner,
    planning: date === null,
    date: date === null ? -Infinity : Number.isNaN(date) ? Infinity : date,
    seq: internal.seq++,
    state: 'waiting',
  };
  internal.tickets.set(owner.sessionId, ticket);
  internal.heap.push(ticket);
}

/** The step queue's logic; spawn it once per attempt with `{ concurrency }`. */
export const stepQueueLogic: ActorLogic<StepQueueSnapshot, StepQueueEvent, StepQueueInput> = {
  getInitialSnapshot: (_scope, input) => ({
    status: 'active',
    output: undefined,
    error: undefined,
    context: { concurrency: input.concurrency, held: 0, waiting: 0, admitted: 0 },
    internal: { heap: new BinaryHeap<Ticket>(before), tickets: new Map(), seq: 0 },
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
        enqueue(internal, event.owner, event.date);
        waiting++;
        break;
      case 'RELEASE':
        if (current?.state !== 'granted') return snapshot; // nothing held: ignore
        held--;
        internal.tickets.delete(event.owner.sessionId);
        if (event.next !== undefined) {
          enqueue(internal, event.owner, event.next);
          waiting++;
        }
        break;
      case 'WITHDRAW':
        if (current === undefined) return snapshot;
        if (current.state === 'granted') held--;
        else waiting--;
        current.state = 'withdrawn'; // a withdrawn ticket left in the heap is skipped on pop
        internal.tickets.delete(event.owner.sessionId);
        break;
      default:
        return snapshot;
    }
    while (held < snapshot.context.concurrency && internal.heap.size > 0) {
      const ticket = internal.heap.pop() as Ticket;
      if (ticket.state !== 'waiting') continue;
      ticket.state = 'granted';
      held++;
      waiting--;
      admitted++;
      const owner = ticket.owner;
      scope.defer(() => owner.send({ type: 'GRANTED' }));
    }
    return {
      ...snapshot,
      context: { concurrency: snapshot.context.concurrency, held, waiting, admitted },
    };
  },

  getPersistedSnapshot: (snapshot) => ({
    status: snapshot.status,
    output: undefined,
    error: undefined,
    context: snapshot.context,
  }),
} as ActorLogic<StepQueueSnapshot, StepQueueEvent, StepQueueInput>;
