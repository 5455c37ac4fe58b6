/** Helpers for driver tests: a controllable clock, a recording logger, default config. */
import type { DriverConfig, Logger } from '../../src/index.js';

export const config = (over: Partial<DriverConfig> = {}): DriverConfig => ({
  stepQueueConcurrency: 1,
  maxAttempts: 1,
  reconnectHardFailTimeoutMs: 1000,
  ...over,
});

/** A clock that ticks 1 ms on every read, so every recorded time is distinct and ordered. */
export function tickingClock(start = Date.UTC(2026, 0, 1)): {
  now: () => Date;
  reads: () => number;
} {
  let t = start;
  let n = 0;
  return {
    now: () => {
      n++;
      return new Date(t++);
    },
    reads: () => n,
  };
}

export interface LogLine {
  level: string;
  msg: string | undefined;
}

export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      lines.push({ level, msg: typeof obj === 'string' ? obj : msg });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** An error the driver classifies as temporary-connectivity (D9). */
export const temporary = (msg = 'connection reset'): Error =>
  Object.assign(new Error(msg), { code: 'ETIMEDOUT' });
