/** How every statechart records an error (D9): its message, the injected clock's time, the cause. */
import type { Clock, TimedError } from './types.js';

/** A thrown non-Error becomes its string form; the original is kept for classification. */
export function timed(cause: unknown, now: Clock): TimedError {
  const err = cause instanceof Error ? cause.message : String(cause);
  return { err, time: now(), cause };
}
