/**
 * The stall watch of D15: a step runs with a signal of its own, linked to the run's, which
 * is aborted with a StepStalledError when the step's `bytesReplicated` has not grown for the
 * timeout. Only when `stepStallTimeoutMs` is set: otherwise every step shares the run's signal
 * and nothing here runs.
 *
 * The watch reads the bytes on real timers, STALL_CHECKS times per timeout (so a stall is
 * seen at most a tenth of the timeout late), and counts time in those checks rather than
 * reading a clock: the report's injected clock may stand still. Its timer and its listener
 * on the run's signal are gone once the step settled (D12).
 */
import { setMaxListeners } from 'node:events';
import type { Step } from './types.js';
import { stepInfo } from './report.js';
import { StepStalledError } from '../errors/step-stalled.js';

/** Checks of the step's bytes per timeout. */
export const STALL_CHECKS = 10;

/** The delay before check `k` (from 0) of a window: the checks split `timeoutMs` exactly. */
function checkDelay(timeoutMs: number, k: number): number {
  const checks = Math.min(STALL_CHECKS, timeoutMs);
  return Math.floor((timeoutMs * (k + 1)) / checks) - Math.floor((timeoutMs * k) / checks);
}

function describe(step: Step): string {
  const info = stepInfo(step);
  return info.from === '' ? info.to : `${info.from} -> ${info.to}`;
}

/**
 * Runs `step` with a signal of its own that aborts with the run's `signal` and, after
 * `timeoutMs` without its bytes growing, with a StepStalledError. A step that resolves after
 * that still counts as done; one that rejects is recorded as that StepStalledError, with its
 * own error as `cause`.
 */
export function runWatched(step: Step, signal: AbortSignal, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  // The step's endpoints and streams listen to its signal as they did to the run's, which has
  // no listener limit either (replicate.ts).
  setMaxListeners(0, controller.signal);
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let stalled: StepStalledError | null = null;
  let bytes = stepInfo(step).bytesReplicated;
  let k = 0; // checks without growth in the current window
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    const now = stepInfo(step).bytesReplicated;
    if (now > bytes) {
      bytes = now;
      k = 0;
    } else if (++k >= Math.min(STALL_CHECKS, timeoutMs)) {
      timer = undefined;
      stalled = new StepStalledError(
        `step ${describe(step)} stalled: no bytes replicated for ${timeoutMs} ms`,
      );
      controller.abort(stalled);
      return;
    }
    timer = setTimeout(check, checkDelay(timeoutMs, k));
  };
  timer = setTimeout(check, checkDelay(timeoutMs, 0));
  const stop = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    signal.removeEventListener('abort', onAbort);
  };
  let running: Promise<void>;
  try {
    running = Promise.resolve(step.step(controller.signal));
  } catch (error) {
    running = Promise.reject(error);
  }
  return running.then(stop, (error: unknown) => {
    stop();
    if (stalled === null) throw error;
    // The abort reason is what is recorded; the step's own error, if another, is its cause.
    if (error !== stalled) {
      Object.defineProperty(stalled, 'cause', {
        value: error,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    }
    throw stalled;
  });
}
