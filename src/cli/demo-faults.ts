/**
 * The demo's injected fault: a connection drop once a share of the bytes has arrived,
 * counted on the receiving side, and the connection restored a moment later.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import type { Receiver } from '../endpoints/types.js';
import { unavailableError, type Faults } from '../endpoints/memory/index.js';
import { formatBytes, formatDuration } from './progress/format.js';

/**
 * `receiver` with every received byte counted by `onBytes` on its way in. When `onBytes`
 * returns an error, the chunk it counted does not arrive: the stream breaks with that error.
 */
export function countingReceiver(
  receiver: Receiver,
  onBytes: (n: number) => Error | undefined,
): Receiver {
  return {
    listFilesystems: (signal) => receiver.listFilesystems(signal),
    listFilesystemVersions: (fs, signal) => receiver.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => receiver.waitForConnectivity(signal),
    receive(req, stream: Readable, signal) {
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          const broken = onBytes(chunk.length);
          if (broken !== undefined) callback(broken);
          else callback(null, chunk);
        },
      });
      // Errors reach the receive through `counter`; pipeline destroys both ends on failure.
      pipeline(stream, counter, () => {});
      return receiver.receive(req, counter, signal);
    },
  };
}

/**
 * Drops the receiver's connection once `threshold` bytes have arrived and restores it
 * `restoreAfterMs` later. `dispose()` clears a pending restore. The transfer whose bytes cross
 * the threshold always breaks (`onBytes` returns the error for it), even when it would
 * otherwise have ended before the drop reached it: the demo shows one retry on every run.
 */
export function dropMidway(
  faults: Faults,
  threshold: number,
  restoreAfterMs: number,
  announce: (text: string) => void,
): { onBytes(n: number): Error | undefined; dispose(): void } {
  let received = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let dropped = false;
  return {
    onBytes(n) {
      received += n;
      if (dropped || received < threshold) return undefined;
      dropped = true;
      announce(
        `>> injected fault: the receiver's connection drops after ${formatBytes(received)}; ` +
          `it comes back in ${formatDuration(restoreAfterMs)}`,
      );
      faults.drop();
      timer = setTimeout(() => {
        timer = undefined;
        faults.restore();
        announce('>> the receiver is reachable again');
      }, restoreAfterMs);
      return unavailableError(`connection dropped after ${received} bytes`);
    },
    dispose() {
      clearTimeout(timer);
    },
  };
}
