/**
 * The demo's injected fault: a connection drop once a share of the bytes has arrived,
 * counted on the receiving side, and the connection restored a moment later.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import type { Receiver } from '../endpoints/types.js';
import type { Faults } from '../endpoints/memory/index.js';
import { formatBytes, formatDuration } from './progress/format.js';

/** `receiver` with every received byte counted by `onBytes` on its way in. */
export function countingReceiver(receiver: Receiver, onBytes: (n: number) => void): Receiver {
  return {
    listFilesystems: (signal) => receiver.listFilesystems(signal),
    listFilesystemVersions: (fs, signal) => receiver.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => receiver.waitForConnectivity(signal),
    receive(req, stream: Readable, signal) {
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          onBytes(chunk.length);
          callback(null, chunk);
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
 * `restoreAfterMs` later. `dispose()` clears a pending restore.
 */
export function dropMidway(
  faults: Faults,
  threshold: number,
  restoreAfterMs: number,
  announce: (text: string) => void,
): { onBytes(n: number): void; dispose(): void } {
  let received = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let dropped = false;
  return {
    onBytes(n) {
      received += n;
      if (dropped || received < threshold) return;
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
    },
    dispose() {
      clearTimeout(timer);
    },
  };
}
