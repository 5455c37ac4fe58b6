/**
 * Feeding a stream into a running `zfs recv`, with backpressure (stream.pipeline), and
 * stopping it cleanly: on an error or abort its stdin is closed first, so zfs sees a truncated
 * stream and discards the partial receive itself before it exits; only a recv that does not
 * exit then is killed. (Killing first is not enough on zfs-fuse: its daemon holds the pipe and
 * finishes the receive after the `zfs` client is gone.)
 */
import type { Readable } from 'node:stream';
import { ZfsError, type ZfsExit } from './errors.js';
import type { ZfsProcess } from './exec.js';
import { pipeline } from 'node:stream/promises';

/** How long a recv gets to exit after its stdin closed, before SIGTERM, then SIGKILL. */
export const RECV_EXIT_GRACE_MS = 5_000;

function exitedWithin(proc: ZfsProcess, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    proc.exited.then(done, done);
  });
}

/** Waits for `proc` to exit, escalating SIGTERM then SIGKILL after `graceMs` each. */
export async function stopProcess(proc: ZfsProcess, graceMs: number): Promise<void> {
  if (await exitedWithin(proc, graceMs)) return;
  proc.kill('SIGTERM');
  if (await exitedWithin(proc, graceMs)) return;
  proc.kill('SIGKILL');
  await proc.exited.catch(() => undefined);
}

/** Bound on waiting for a destroyed stream to close (a send stream closes once zfs exited). */
const STREAM_CLOSE_TIMEOUT_MS = 10_000;

/** Destroys `stream` and resolves when it has closed (bounded: a foreign stream may never). */
export async function destroyAndSettle(stream: Readable): Promise<void> {
  stream.destroy();
  if (stream.closed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, STREAM_CLOSE_TIMEOUT_MS);
    function done(): void {
      clearTimeout(timer);
      stream.off('close', done);
      resolve();
    }
    stream.once('close', done);
  });
}

/** Waits for the exit of a recv that has all its input; an abort meanwhile stops it. */
async function awaitExit(proc: ZfsProcess, signal: AbortSignal, graceMs: number): Promise<ZfsExit> {
  const onAbort = (): void => {
    proc.stdin.destroy();
    void stopProcess(proc, graceMs);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await proc.exited;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Pipes `stream` into `proc` (a started `zfs recv`) and resolves when zfs received it all.
 * Success is zfs recv's exit status 0: it reads up to the stream's end record and checks it,
 * so a stream cut short never passes, while a complete one passes even when its end-of-stream
 * (zfs send's exit, gRPC's trailers) comes after recv has exited and closed its stdin (the
 * pipe then fails with a premature close; the stream is destroyed and waited for).
 * Rejects, once the recv process is gone, with: `signal.reason` on abort; the stream's own
 * error when the stream failed first (e.g. the sender's ZfsError, kept as is so that its class
 * survives); else a ZfsError with recv's stderr. `stream` is destroyed on any failure.
 */
export async function pipeIntoRecv(
  proc: ZfsProcess,
  stream: Readable,
  signal: AbortSignal,
  graceMs = RECV_EXIT_GRACE_MS,
): Promise<void> {
  let first: { side: 'source' | 'sink'; error: unknown } | undefined;
  const onSourceError = (error: unknown): void => {
    first ??= { side: 'source', error };
  };
  const onSinkError = (error: unknown): void => {
    first ??= { side: 'sink', error };
  };
  // The stream may have failed before we got it (the receiver keeps that error unhandled-safe).
  if (stream.errored !== null) onSourceError(stream.errored);
  stream.on('error', onSourceError);
  proc.stdin.on('error', onSinkError);
  let pipeError: unknown;
  try {
    await proc.spawned;
    await pipeline(stream, proc.stdin, { signal });
  } catch (err) {
    pipeError = err;
    stream.destroy();
    proc.stdin.destroy();
  } finally {
    stream.off('error', onSourceError);
    proc.stdin.off('error', onSinkError);
  }

  let exit: ZfsExit;
  try {
    if (pipeError === undefined) {
      exit = await awaitExit(proc, signal, graceMs);
    } else {
      await stopProcess(proc, graceMs);
      exit = await proc.exited;
    }
  } catch (err) {
    throw pipeError ?? err; // never started
  }
  if (exit.exitCode === 0 && pipeError === undefined) return;
  if (exit.exitCode === 0 && !signal.aborted) {
    // Complete, but the pipe failed after the last byte: no process may outlive the call.
    await destroyAndSettle(stream);
    return;
  }
  if (signal.aborted) throw signal.reason;
  if (first?.side === 'source') throw first.error;
  if (exit.exitCode !== 0) throw new ZfsError(proc.command, exit, { cause: pipeError });
  throw pipeError;
}
