/**
 * How often a watcher (the CLI progress display, the visualizer) may ask for a report. A report of 100,000
 * filesystems takes about 0.3 s to build; five a second would leave the run itself little
 * time. The pacer keeps reports to at most `share` of the time: after a report that took `c`
 * ms, the next is due `c * (1 / share - 1)` ms later at the earliest (and never sooner than
 * the display's own timer). Small runs, whose reports take a millisecond, are not slowed.
 */
export interface ProgressPacer {
  /** Whether an update may run at `now`. */
  due(now: number): boolean;
  /** Records an update that ran from `start` to `end` (the same clock as `due`). */
  spent(start: number, end: number): void;
}

export function progressPacer(share = 0.1): ProgressPacer {
  if (!(share > 0 && share <= 1)) throw new RangeError(`share must be in (0, 1] (got ${share})`);
  let next = -Infinity;
  return {
    due: (now) => now >= next,
    spent(start, end) {
      next = end + Math.max(0, end - start) * (1 / share - 1);
    },
  };
}
