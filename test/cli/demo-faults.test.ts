/** The demo's fault: the transfer that crosses the threshold always breaks, so every demo retries once. */
import { Readable } from 'node:stream';
import { Faults } from '../../src/endpoints/memory/index.js';
import { classifyError } from '../../src/errors/index.js';
import { countingReceiver, dropMidway } from '../../src/cli/demo-faults.js';
import type { Receiver } from '../../src/endpoints/types.js';

/** A receiver that reads its stream to the end and resolves with the bytes it got. */
function draining(): Receiver & { got: number[] } {
  const got: number[] = [];
  return {
    got,
    listFilesystems: () => Promise.resolve([]),
    listFilesystemVersions: () => Promise.resolve([]),
    waitForConnectivity: () => Promise.resolve(),
    async receive(_req: unknown, stream: Readable) {
      let n = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) n += chunk.length;
      got.push(n);
    },
  } as unknown as Receiver & { got: number[] };
}

describe('demo fault', () => {
  test('the chunk that crosses the threshold breaks its transfer with a temporary connectivity error; later calls see the drop', async () => {
    const faults = new Faults();
    const said: string[] = [];
    const drop = dropMidway(faults, 10, 60_000, (t) => said.push(t));
    const inner = draining();
    const receiver = countingReceiver(inner, drop.onBytes);
    const signal = new AbortController().signal;
    const req = {} as Parameters<Receiver['receive']>[0];
    try {
      // 6 bytes: below the threshold, received whole.
      await receiver.receive(req, Readable.from([Buffer.alloc(6)]), signal);
      expect(inner.got).toEqual([6]);
      expect(faults.dropped).toBe(false);
      // The last chunk of this transfer crosses it: the transfer fails although its stream ends right after.
      const failed = receiver.receive(
        req,
        Readable.from([Buffer.alloc(2), Buffer.alloc(4)]),
        signal,
      );
      await expect(failed).rejects.toThrow(/UNAVAILABLE: connection dropped after 12 bytes/);
      expect(classifyError(await failed.catch((e: unknown) => e))).toBe('temporary-connectivity');
      expect(faults.dropped).toBe(true);
      expect(said).toHaveLength(1);
      // Once dropped, nothing more breaks through onBytes.
      expect(drop.onBytes(100)).toBeUndefined();
    } finally {
      drop.dispose();
    }
  });
});
