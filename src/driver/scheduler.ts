/**
 * The Scheduler the driver gives its actors (machines/types.ts): work runs at once until a
 * slice of `slice` units is used up, then everything waits for one `setImmediate`, so timers,
 * I/O callbacks, progress displays and inspectors get a turn even when every step resolves at
 * once. Counting units instead of reading a clock keeps the order of events the same from run
 * to run.
 */
import type { Scheduler } from '../../machines/types.js';

/** Units (grants of the step queue, chunks of the fan-out) between two turns of the loop. */
export const SLICE = 64;

export function eventLoopScheduler(slice = SLICE): Scheduler {
  let used = 0;
  let waiting: (() => void)[] | null = null;
  const flush = (): void => {
    const fns = waiting as (() => void)[];
    waiting = null;
    used = 0;
    for (const fn of fns) fn();
  };
  const defer = (fn: () => void): void => {
    if (waiting === null) {
      waiting = [];
      setImmediate(flush);
    }
    waiting.push(fn);
  };
  return {
    run(fn) {
      if (waiting === null && ++used < slice) fn();
      else defer(fn);
    },
    later: defer,
  };
}
