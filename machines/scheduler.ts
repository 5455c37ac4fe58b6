/** The machines' default Scheduler (see types.ts); the driver provides one that yields. */
import type { Scheduler } from './types.js';

/** Runs everything at once: deterministic, for tests and for the machines on their own. */
export const synchronousScheduler: Scheduler = {
  run: (fn) => fn(),
  later: (fn) => fn(),
};
