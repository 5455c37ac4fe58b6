/**
 * The stream of a running `zfs send`: its stdout, which ends only once zfs has exited, and
 * which errors with zfs's own message when zfs failed. Destroying the stream (or aborting)
 * kills zfs send.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { StalePlanError } from '../../errors/stale-plan.js';
import { StaleResumeTokenError } from '../stale-resume-token.js';
import { isDatasetMissing, ZfsError, type ZfsExit } from './errors.js';
import type { ZfsProcess } from './exec.js';

/**
 * Why a finished `zfs send` failed, or undefined when it succeeded. A snapshot that does not
 * exist (any more) is a stale plan (D13), with zfs's error as its cause: it was there when
 * the filesystem was planned, and re-planning it cures the error. A resumed send (`-t`) whose
 * snapshot is gone ("cannot resume send: 'x@s2' used in the initial send no longer exists")
 * is a stale plan too, caused by a StaleResumeTokenError of `filesystem`: the re-plan then
 * applies the stale-resume-token policy.
 */
export function sendFailure(
  command: readonly string[],
  exit: ZfsExit,
  filesystem = '',
): Error | undefined {
  // zfs send writes nothing to stderr without -v: any stderr output means trouble.
  if (exit.exitCode === 0 && exit.stderr.trim() === '') return undefined;
  const error = new ZfsError(command, exit);
  if (command.includes('-t') && /cannot resume send:.*no longer exists/.test(exit.stderr)) {
    const stale = new StaleResumeTokenError(
      filesystem,
      `cannot resume the interrupted receive of ${filesystem || 'a filesystem'}: ${error.message}`,
      { cause: error },
    );
    return new StalePlanError(stale.message, { cause: stale });
  }
  // OpenZFS: "cannot open 'fs@s1': dataset does not exist"; zfs-fuse: "WARNING: could not
  // send fs@s1: does not exist".
  if (!isDatasetMissing(error) && !/could not send .*: does not exist/.test(exit.stderr))
    return error;
  return new StalePlanError(`${error.message} (destroyed since planning?)`, { cause: error });
}

/**
 * Bytes buffered on each side of the stream before zfs send is held back. Node's default (16
 * KiB) is less than one 64 KiB read of zfs's stdout: every read would pause and resume the
 * pipe; 1 MiB keeps it flowing with memory still bounded (BENCHMARKS.md, "Data path").
 */
const BUFFER_BYTES = 1024 * 1024;

class ZfsSendStream extends Transform {
  readonly #proc: ZfsProcess;
  readonly #signal: AbortSignal;
  readonly #filesystem: string;
  readonly #onFailure: (() => Promise<void>) | undefined;
  #succeeded = false;
  readonly #onAbort = (): void => {
    this.destroy(this.#signal.reason);
  };

  constructor(proc: ZfsProcess, signal: AbortSignal, options: ZfsSendStreamOptions) {
    super({ highWaterMark: BUFFER_BYTES });
    this.#proc = proc;
    this.#signal = signal;
    this.#filesystem = options.filesystem ?? '';
    this.#onFailure = options.onFailure;
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
      (exit) => {
        const failure = sendFailure(this.#proc.command, exit, this.#filesystem);
        this.#succeeded = failure === undefined;
        callback(failure);
      },
      (err: unknown) => callback(err as Error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.#proc.stdout.unpipe(this);
    this.#proc.kill('SIGTERM');
    // zfs-fuse's daemon writes into the pipe itself: closing our end stops it (EPIPE).
    this.#proc.stdout.destroy();
    // 'close' of this stream comes only once zfs send is gone (no process outlives the
    // stream), and after a failure once `onFailure` is done (holds released).
    const settle = async (): Promise<void> => {
      await this.#proc.exited.catch(() => undefined);
      if (!this.#succeeded) await this.#onFailure?.().catch(() => undefined);
    };
    void settle().then(() => callback(error));
  }
}

export interface ZfsSendStreamOptions {
  /** The root-relative filesystem, naming errors. */
  filesystem?: string;
  /** Runs before 'close' when the stream did not end successfully (failed, destroyed). */
  onFailure?: () => Promise<void>;
}

/**
 * Wraps a started `zfs send` as the Readable handed to the receiver. `signal` aborting destroys
 * the stream with `signal.reason` and kills zfs.
 */
export function zfsSendStream(
  proc: ZfsProcess,
  signal: AbortSignal,
  options: ZfsSendStreamOptions = {},
): Transform {
  const stream = new ZfsSendStream(proc, signal, options);
  if (signal.aborted) stream.destroy(signal.reason);
  return stream;
}
