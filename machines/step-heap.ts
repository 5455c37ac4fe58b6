/**
 * The step queue's waiting steps (D8): a binary min-heap of tickets by (target date, request
 * order), O(log n) push and pop, so admission stays cheap with 100,000 waiters.
 */
import type { AnyActorRef } from 'xstate';

/** One request of the step queue: its owner, its priority, and where it is. */
export interface Ticket {
  owner: AnyActorRef;
  date: number; // NaN mapped to +Infinity
  seq: number;
  state: 'waiting' | 'granted' | 'withdrawn';
}

/**
 * A binary min-heap of step tickets by (date, seq): O(log n) push and pop, so admission stays
 * cheap with 100,000 waiters. Sifts move a hole instead of swapping.
 */
export class StepHeap {
  private readonly items: Ticket[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: Ticket): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as Ticket;
      if (!before(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  pop(): Ticket | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop() as Ticket;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        let m = l;
        const r = l + 1;
        if (r < n && before(items[r] as Ticket, items[l] as Ticket)) m = r;
        const child = items[m] as Ticket;
        if (!before(child, last)) break;
        items[i] = child;
        i = m;
      }
      items[i] = last;
    }
    return top;
  }
}

function before(a: Ticket, b: Ticket): boolean {
  return a.date !== b.date ? a.date < b.date : a.seq < b.seq;
}
