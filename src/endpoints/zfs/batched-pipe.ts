/**
 * `stream.pipeline(source, dest)` for one source and one destination, with the writes of one
 * turn of the event loop gathered into one `writev`. A stream arriving over TLS comes in 16 KiB
 * pieces; written one by one into a `zfs recv`'s stdin that is one system call each, which
 * costs about twice the CPU of the batched writes (BENCHMARKS.md, "Data path"). No copy is made.
 */
import { finished, type Readable, type Writable } from 'node:stream';

/** Bytes the destination may hold before the source is paused (its 'drain' resumes it). */
export const BATCH_BYTES = 1024 * 1024;

/**
 * Writes every chunk of `source` into `dest`, then ends `dest`; resolves once `dest` has
 * finished. Rejects with the first error of either stream (a premature close is one), or with
 * `signal.reason` on abort; both streams are destroyed then. Backpressure: the source pauses
 * while `dest` holds `batchBytes` or more (or its own highWaterMark, if that is more).
 */
export function pipeBatched(
  source: Readable,
  dest: Writable,
  signal: AbortSignal,
  batchBytes = BATCH_BYTES,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let turn: NodeJS.Immediate | undefined;
    let settled = false;
    const endTurn = (): void => {
      turn = undefined;
      dest.uncork();
    };
    const flush = (): void => {
      if (turn === undefined) return;
      clearImmediate(turn);
      endTurn();
    };
    const onData = (chunk: Buffer): void => {
      if (turn === undefined) {
        dest.cork();
        turn = setImmediate(endTurn);
      }
      // Paused only when a 'drain' will come to resume it (the destination is over its own mark).
      if (!dest.write(chunk) && dest.writableLength >= batchBytes) source.pause();
    };
    const onDrain = (): void => {
      if (!settled) source.resume();
    };
    const onEnd = (): void => {
      flush();
      dest.end();
    };
    const stopSource = finished(source, { writable: false }, (err) => {
      if (err) settle(err);
    });
    const stopDest = finished(dest, { readable: false }, (err) => settle(err ?? undefined));
    const onAbort = (): void => settle(signal.reason);
    function settle(err: unknown): void {
      if (settled) return;
      settled = true;
      flush();
      source.off('data', onData);
      source.off('end', onEnd);
      dest.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
      stopSource();
      stopDest();
      if (err === undefined) return resolve();
      // A late error of a stream we destroyed is ours no more but must not go uncaught.
      source.on('error', () => undefined);
      source.destroy();
      dest.destroy();
      reject(err);
    }
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    dest.on('drain', onDrain);
    source.once('end', onEnd);
    source.on('data', onData);
  });
}
