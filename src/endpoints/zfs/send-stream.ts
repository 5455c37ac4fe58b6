/**
 * The stream of a running `zfs send`: its stdout, which ends only once zfs has exited, and
 * which errors with zfs's own message when zfs failed. Destroying the stream (or aborting)
 * kills zfs send.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { StalePlanError } from '../../errors/stale-plan.js';
import { isDatasetMissing, ZfsError, type ZfsExit } from './errors.js';
import type { ZfsProcess } from './exec.js';

/**
 * Why a finished `zfs send` failed, or undefined when it succeeded. A snapshot that does not
 * exist (any more) is a stale plan (D13), with zfs's error as its cause: it was there when
 * the filesystem was planned, and re-planning it cures the error.
 */
export function sendFailure(
  command: readonly string[],
  exit: ZfsExit,
): ZfsError | StalePlanError | undefined {
  // zfs send writes nothing to stderr without -v: any stderr output means trouble.
  if (exit.exitCode === 0 && exit.stderr.trim() === '') return undefined;
  const error = new ZfsError(command, exit);
  // OpenZFS: "cannot open 'fs@s1': dataset does not exist"; zfs-fuse: "WARNING: could not
  // send fs@s1: does not exist".
  if (!isDatasetMissing(error) && !/could not send .*: does not exist/.test(exit.stderr))
    return error;
  return new StalePlanError(`${error.message} (destroyed since planning?)`, { cause: error });
}

class ZfsSendStream extends Transform {
  readonly #proc: ZfsProcess;
  readonly #signal: AbortSignal;
  readonly #onAbort = (): void => {
    this.destroy(this.#signal.reason);
  };

  constructor(proc: ZfsProcess, signal: AbortSignal) {
    super();
    this.#proc = proc;
    this.#signal = signal;
    signal.addEventListener('abort', this.#onAbort, { once: true });
    proc.stdout.on('error', (err) => this.destroy(err));
    // pipe() gives backpressure: zfs send blocks while the consumer does not read.
    proc.stdout.pipe(this);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    // stdout ended; the stream ends only when zfs says it succeeded.
    this.#proc.exited.then(
      (exit) => callback(sendFailure(this.#proc.command, exit)),
      (err: unknown) => callback(err as Error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.#proc.stdout.unpipe(this);
    this.#proc.kill('SIGTERM');
    // zfs-fuse's daemon writes into the pipe itself: closing our end stops it (EPIPE).
    this.#proc.stdout.destroy();
    // 'close' of this stream comes only once zfs send is gone: no process outlives the stream.
    this.#proc.exited.then(
      () => callback(error),
      () => callback(error),
    );
  }
}

/**
 * Wraps a started `zfs send` as the Readable handed to the receiver. `signal` aborting destroys
 * the stream with `signal.reason` and kills zfs.
 */
export function zfsSendStream(proc: ZfsProcess, signal: AbortSignal): Transform {
  const stream = new ZfsSendStream(proc, signal);
  if (signal.aborted) stream.destroy(signal.reason);
  return stream;
}
