/**
 * Guards and actions the run, attempt and filesystem charts share, written once (as timed()
 * is): each chart names them in its `setup()` and the chart reads the same in all three.
 */
import type { Clock } from './types.js';

/** Why the chart was cancelled (D10). */
export interface Cancel {
  reason: unknown;
}

/** Guard `cancelled`: a CANCEL arrived (D10). */
export function cancelled({ context }: { context: { cancel: Cancel | null } }): boolean {
  return context.cancel !== null;
}

/** Action `recordCancel`'s assignment: the first cancellation is kept (D10). */
export function keepFirstCancel<TContext extends { cancel: Cancel | null }>(
  { context }: { context: TContext },
  params: Cancel,
): { cancel: Cancel } {
  return { cancel: context.cancel ?? params };
}

/** Action `recordCancel` with the reason of the CANCEL event being handled. */
export const recordCancel = {
  type: 'recordCancel',
  params: ({ event }: { event: { reason: unknown } }): Cancel => ({ reason: event.reason }),
} as const;

/** Action `recordFinish`'s assignment: the injected clock's time on entering a final state. */
export function finishNow<TContext extends { now: Clock }>({
  context,
}: {
  context: TContext;
}): {
  finishAt: Date;
} {
  return { finishAt: context.now() };
}
