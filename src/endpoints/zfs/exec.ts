/**
 * Running `zfs` and `zpool`: argument arrays through `child_process.spawn`, never a shell
 * string, so dataset names reach zfs verbatim. An abort kills the child; failures reject with a
 * ZfsError carrying zfs's stderr and exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ZfsError, type ZfsExit } from './errors.js';

export type ZfsProgram = 'zfs' | 'zpool';

/** How much stderr is kept; zfs says what matters in its first lines. */
const STDERR_LIMIT = 64 * 1024;

export interface ZfsExecOptions {
  /** The zfs binary, default `zfs` (looked up on PATH). */
  zfsPath?: string;
  /** The zpool binary, default `zpool`. */
  zpoolPath?: string;
}

/** A command that ran to completion with exit code 0. */
export interface ZfsRunResult {
  stdout: string;
  stderr: string;
}

/** A running command with piped stdin and stdout (for `zfs send` and `zfs recv`). */
export interface ZfsProcess {
  /** argv, program name first (the configured name, e.g. `zfs`, not its path). */
  readonly command: readonly string[];
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Resolves once the process runs; rejects when it could not be started. */
  readonly spawned: Promise<void>;
  /** Resolves when the process has exited and its stdio is closed; rejects when it never started. */
  readonly exited: Promise<ZfsExit>;
  hasExited(): boolean;
  /** Sends `signal` (default SIGTERM) unless the process has already exited. */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * The seam between the backend and the operating system; tests inject a fake to see every argv.
 *
 * @example
 * const exec = createZfsExec({ zfsPath: '/usr/sbin/zfs' });
 * const { stdout } = await exec.run('zfs', ['list', '-H', '-o', 'name', 'tank'], signal);
 */
export interface ZfsExec {
  /** Runs to completion; rejects with ZfsError on a non-zero exit, with `signal.reason` on abort. */
  run(program: ZfsProgram, args: readonly string[], signal: AbortSignal): Promise<ZfsRunResult>;
  /** Starts a streaming command; the caller owns its lifetime (kill, await `exited`). */
  start(program: ZfsProgram, args: readonly string[]): ZfsProcess;
}

/** The real ZfsExec: spawns the configured binaries. */
export function createZfsExec(options: ZfsExecOptions = {}): ZfsExec {
  const binary = (program: ZfsProgram): string =>
    program === 'zfs' ? (options.zfsPath ?? 'zfs') : (options.zpoolPath ?? 'zpool');
  return {
    run: (program, args, signal) => runCommand(binary(program), [program, ...args], signal),
    start: (program, args) => startCommand(binary(program), [program, ...args]),
  };
}

function cannotStart(binary: string, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  return new Error(`cannot run ${binary}: ${reason}; is ZFS installed, or is zfsPath wrong?`, {
    cause: err,
  });
}

function collectStderr(child: ChildProcess): () => string {
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += chunk.slice(0, STDERR_LIMIT - stderr.length);
  });
  return () => stderr;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function runCommand(
  binary: string,
  command: readonly string[],
  signal: AbortSignal,
): Promise<ZfsRunResult> {
  signal.throwIfAborted();
  const child = spawn(binary, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = collectStderr(child);
  let stdout = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
  });
  const onAbort = (): void => {
    if (!hasExited(child)) child.kill('SIGTERM');
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await new Promise<ZfsExit>((resolve, reject) => {
      child.once('error', (err) => reject(cannotStart(binary, err)));
      child.once('close', (exitCode, exitSignal) =>
        resolve({ exitCode, signal: exitSignal, stderr: stderr() }),
      );
    });
    // The process is gone by now; an abort wins over whatever the killed process said.
    signal.throwIfAborted();
    if (exit.exitCode !== 0) throw new ZfsError(command, exit);
    return { stdout, stderr: exit.stderr };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function startCommand(binary: string, command: readonly string[]): ZfsProcess {
  const child = spawn(binary, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr = collectStderr(child);
  const stdin = child.stdin as Writable;
  const stdout = child.stdout as Readable;
  // EPIPE on stdin after zfs recv exits is expected; whoever pipes reports it, never a crash.
  stdin.on('error', () => {});
  stdout.on('error', () => {});
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(cannotStart(binary, err)));
  });
  const exited = new Promise<ZfsExit>((resolve, reject) => {
    child.once('error', (err) => {
      if (child.pid === undefined) reject(cannotStart(binary, err));
    });
    child.once('close', (exitCode, exitSignal) =>
      resolve({ exitCode, signal: exitSignal, stderr: stderr() }),
    );
  });
  // Both are also awaited by their users; these handlers only prevent unhandled rejections.
  spawned.catch(() => {});
  exited.catch(() => {});
  return {
    command,
    stdin,
    stdout,
    spawned,
    exited,
    hasExited: () => hasExited(child),
    kill: (sig = 'SIGTERM') => {
      if (!hasExited(child)) child.kill(sig);
    },
  };
}
