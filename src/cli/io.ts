/**
 * What a command may touch of the world: output streams, the terminal, interrupts, a clock
 * and timers. `main()` takes it as an argument so tests run commands in-process with
 * captured output, a fake clock and a hand-fired Ctrl-C; `processIO()` is the real one.
 */

import type { Readable, Writable } from 'node:stream';

/** Something to write text to (a stream, or a test's buffer). */
export interface TextSink {
  write(text: string): unknown;
}

export interface CliIO {
  stdout: TextSink;
  stderr: TextSink;
  /** Whether stdout is a terminal: progress redraws in place, else prints plain lines. */
  isTTY: boolean;
  /** Terminal width and height (used on a TTY; defaults 100 x 30). */
  columns?: number;
  rows?: number;
  /**
   * Calls `listener` on every Ctrl-C (SIGINT) and termination request (SIGTERM, e.g. from a
   * service manager), with the signal's name; returns the function that unsubscribes.
   */
  onInterrupt(listener: (signal?: InterruptSignal) => void): () => void;
  /**
   * Calls `listener` on every reload request (SIGHUP, `systemctl reload`); returns the function
   * that unsubscribes. Optional: without it a command never reloads.
   */
  onReload?(listener: () => void): () => void;
  /** Leaves at once with `code` (a second Ctrl-C). */
  exit(code: number): void;
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
  /** Timers of the progress display (default the global ones). */
  setInterval?: (fn: () => void, ms: number) => unknown;
  clearInterval?: (handle: unknown) => void;
  /** The binary standard input and output (`xrepl stdio` speaks its protocol on them). */
  pipes?: { input: Readable; output: Writable };
}

/** Exit codes of xrepl. */
export const EXIT = {
  done: 0,
  failed: 1,
  usage: 2,
  interrupted: 130,
} as const;

/**
 * Bad input from the command line: `main()` prints the message as one line and exits 2,
 * without a stack trace.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The signals a command stops cleanly on. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** The real process: its streams, SIGINT and SIGTERM, `process.exit`. */
export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: process.stdout.isTTY === true,
    columns: process.stdout.columns,
    rows: process.stdout.rows,
    pipes: { input: process.stdin, output: process.stdout },
    onInterrupt(listener) {
      const onInt = (): void => listener('SIGINT');
      const onTerm = (): void => listener('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      return () => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      };
    },
    onReload(listener) {
      process.on('SIGHUP', listener);
      return () => process.off('SIGHUP', listener);
    },
    exit(code) {
      process.exit(code);
    },
  };
}

/** The clock and timers of `io`, with the real ones as defaults. */
export function clockOf(io: CliIO): {
  now: () => number;
  every: (ms: number, fn: () => void) => () => void;
} {
  const now = io.now ?? Date.now;
  const set = io.setInterval ?? ((fn: () => void, ms: number) => setInterval(fn, ms));
  const clear =
    io.clearInterval ?? ((h: unknown) => clearInterval(h as ReturnType<typeof setInterval>));
  return {
    now,
    every(ms, fn) {
      const handle = set(fn, ms);
      return () => clear(handle);
    },
  };
}
