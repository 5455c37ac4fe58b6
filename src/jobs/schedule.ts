/**
 * When a job's next tick is (JOBS.md "Snapshotting"): every `interval` from the daemon's start
 * (the first tick right away), or the next time a 5-field cron expression matches (croner,
 * UTC), or never (`manual`: only `xrepl wakeup`). Timers are injected, so tests move time.
 */
import { Cron } from 'croner';
import type { SnapshottingConfig } from './config.js';
import { durationMs } from './duration.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** The next tick after `now` (`first`: the daemon just started), or undefined for never. */
export function nextTick(
  snapshotting: SnapshottingConfig,
  now: Date,
  first: boolean,
): Date | undefined {
  switch (snapshotting.type) {
    case 'manual':
      return undefined;
    case 'periodic':
      return first ? now : new Date(now.getTime() + (durationMs(snapshotting.interval) ?? 0));
    case 'cron':
      return new Cron(snapshotting.cron, { timezone: 'UTC' }).nextRun(now) ?? undefined;
  }
}

/** Longest timer (2^31-1 ms); a later tick is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `tick` at every time `next` gives, until the returned function is called.
 *
 * @example const stop = schedule(timers, () => new Date(), (now, first) => nextTick(cfg, now, first), onTick);
 */
export function schedule(
  timers: Timers,
  now: () => Date,
  next: (now: Date, first: boolean) => Date | undefined,
  tick: () => void,
): { stop(): void; nextAt(): Date | undefined } {
  let handle: unknown;
  let at: Date | undefined;
  let stopped = false;
  const arm = (first: boolean): void => {
    at = next(now(), first);
    if (at === undefined || stopped) return;
    const wait = (): void => {
      const ms = Math.max(0, (at?.getTime() ?? 0) - now().getTime());
      handle = timers.setTimeout(
        () => {
          if (stopped) return;
          if (ms > MAX_TIMER_MS) return wait();
          tick();
          arm(false);
        },
        Math.min(ms, MAX_TIMER_MS),
      );
    };
    wait();
  };
  arm(true);
  return {
    stop() {
      stopped = true;
      if (handle !== undefined) timers.clearTimeout(handle);
    },
    nextAt: () => at,
  };
}

/** `<prefix>20261203T101500Z`: sortable by time, UTC, to the second. */
export function snapshotName(prefix: string, time: Date): string {
  const iso = time.toISOString(); // 2026-12-03T10:15:00.000Z
  return `${prefix}${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
}
