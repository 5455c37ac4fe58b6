/**
 * D8's admission order, on the step queue's heap itself: tickets come out by target date, and
 * among equal dates in request order, whatever order they went in.
 */
import type { AnyActorRef } from 'xstate';
import { StepHeap, type Ticket } from '../../machines/step-heap.js';

const owner = {} as AnyActorRef;
const ticket = (date: number, seq: number): Ticket => ({ owner, date, seq, state: 'waiting' });
const drain = (heap: StepHeap): Array<[number, number]> => {
  const out: Array<[number, number]> = [];
  for (let t = heap.pop(); t !== undefined; t = heap.pop()) out.push([t.date, t.seq]);
  return out;
};
const sorted = (tickets: Ticket[]): Array<[number, number]> =>
  tickets
    .map((t): [number, number] => [t.date, t.seq])
    .sort((a, b) => (a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1]));

/** A fixed permutation of 0..n-1 (a linear congruential walk), so the test is the same each run. */
function permutation(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let x = 12345;
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const j = x % (i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

describe('D8 the step heap', () => {
  test('equal dates come out in request order, pushed in any order', () => {
    const heap = new StepHeap();
    const tickets = permutation(64).map((seq) => ticket(7, seq));
    for (const t of tickets) heap.push(t);
    expect(drain(heap)).toEqual(sorted(tickets));
  });

  test('earlier dates first, whatever the request order', () => {
    const heap = new StepHeap();
    // Later requests carry earlier dates: seq order and date order disagree.
    const tickets = permutation(64).map((i) => ticket(1000 - i, i));
    for (const t of tickets) heap.push(t);
    expect(drain(heap)).toEqual(sorted(tickets));
  });

  test('mixed: dates from a small set, many ties, pushes between pops', () => {
    const heap = new StepHeap();
    const order = permutation(200);
    const pushed: Ticket[] = [];
    const popped: Array<[number, number]> = [];
    for (const [k, i] of order.entries()) {
      const t = ticket(i % 9, k);
      pushed.push(t);
      heap.push(t);
      // Pop now and then, so the heap's shape is not the one of pushes alone.
      if (k % 7 === 6) {
        const top = heap.pop() as Ticket;
        // The popped ticket is the least of what was waiting.
        const waiting = pushed.filter((p) => p.state === 'waiting');
        expect([top.date, top.seq]).toEqual(sorted(waiting)[0]);
        top.state = 'granted';
        popped.push([top.date, top.seq]);
      }
    }
    const rest = drain(heap);
    expect(rest).toEqual(sorted(pushed.filter((p) => p.state === 'waiting')));
    expect(heap.size).toBe(0);
    expect(popped.length + rest.length).toBe(200);
  });
});
