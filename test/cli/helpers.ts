/**
 * In-process runs of `main()`: captured output, a hand-fired Ctrl-C, a recorded `exit`, and
 * a manual clock whose progress timer fires only when a test calls `tick()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIO } from '../../src/cli/io.js';
import { main, type MainOptions } from '../../src/cli/program.js';
import type { PoolFixture } from '../../src/endpoints/memory/index.js';

export interface FakeIO extends CliIO {
  out: string;
  err: string;
  /** Fires Ctrl-C. */
  interrupt(): void;
  /** Codes passed to `exit`. */
  exits: number[];
  /** Runs the progress timers once, after moving the clock by `ms`. */
  tick(ms?: number): void;
  /** Timers still registered (0 after a command has ended). */
  timers(): number;
  /** Resolves once stdout has matched `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
}

export function fakeIO(options: { isTTY?: boolean; columns?: number; rows?: number } = {}): FakeIO {
  let clock = Date.UTC(2024, 5, 1, 12);
  const listeners = new Set<() => void>();
  const timers = new Map<number, () => void>();
  const waiters: { pattern: RegExp; resolve(): void }[] = [];
  const wake = (): void => {
    for (const w of [...waiters]) {
      if (w.pattern.test(io.out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  let nextTimer = 1;
  const io: FakeIO = {
    out: '',
    err: '',
    exits: [],
    isTTY: options.isTTY ?? false,
    columns: options.columns ?? 100,
    rows: options.rows ?? 30,
    stdout: {
      write(text: string) {
        io.out += text;
        wake();
      },
    },
    stderr: { write: (text: string) => (io.err += text) },
    onInterrupt(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    exit(code) {
      io.exits.push(code);
    },
    now: () => clock,
    setInterval(fn) {
      timers.set(nextTimer, fn);
      return nextTimer++;
    },
    clearInterval(handle) {
      timers.delete(handle as number);
    },
    interrupt() {
      for (const listener of [...listeners]) listener();
    },
    tick(ms = 1000) {
      clock += ms;
      for (const fn of [...timers.values()]) fn();
    },
    timers: () => timers.size,
    waitFor(pattern) {
      if (pattern.test(io.out)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
  return io;
}

/** Runs `xrepl <argv>` in-process. */
export async function run(
  argv: string[],
  io: FakeIO = fakeIO(),
  options: MainOptions = {},
): Promise<{ code: number; io: FakeIO }> {
  const code = await main(argv, io, options);
  return { code, io };
}

/**
 * Starts `xrepl serve <args>` in-process; resolves with its URL once it serves, and a stop
 * function that interrupts it and resolves with its exit code.
 */
export async function serveInProcess(
  args: string[],
): Promise<{ url: string; io: FakeIO; stop(): Promise<number> }> {
  const io = fakeIO();
  const running = run(['serve', ...args], io);
  await Promise.race([
    io.waitFor(/serving a \w+ at grpc:\/\/\S+/),
    running.then(({ code }) => {
      throw new Error(`serve ended with ${code}: ${io.err}`);
    }),
  ]);
  const url = /serving a \w+ at (grpc:\/\/\S+)/.exec(io.out)?.[1] as string;
  return {
    url,
    io,
    async stop() {
      io.interrupt();
      return (await running).code;
    },
  };
}

/** A temporary directory, removed by `cleanup()`. */
export function tempDir(): {
  dir: string;
  file(name: string, fixture?: PoolFixture): string;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'xrepl-cli-'));
  return {
    dir,
    file(name, fixture) {
      const path = join(dir, name);
      if (fixture !== undefined) writeFileSync(path, JSON.stringify(fixture));
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The lines of `text`, without the empty last one. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
}
