/** Helpers of the memory endpoint tests. */
import { Readable } from 'node:stream';
import type { FilesystemVersion, SendReq } from '../../../src/endpoints/types.js';
import {
  MemoryPool,
  type MemoryReceiver,
  type MemorySender,
} from '../../../src/endpoints/memory/index.js';

export const at = (minute: number): Date => new Date(Date.UTC(2024, 0, 1, 0, minute));
export const signal = (): AbortSignal => new AbortController().signal;

/** All bytes of `stream`. */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A sender pool `src` with tank/data@a (3000 bytes), @b (2000 bytes). */
export function sourcePool(): { pool: MemoryPool; a: FilesystemVersion; b: FilesystemVersion } {
  const pool = new MemoryPool({ seed: 'src' });
  pool.createDataset('tank/data');
  const a = pool.snapshot('tank/data', 'a', { creation: at(1), size: 3000 });
  const b = pool.snapshot('tank/data', 'b', { creation: at(2), size: 2000 });
  return { pool, a, b };
}

/** send `req` from `sender` and receive it with `receiver` (clearing resume state unless resuming). */
export async function transfer(
  sender: MemorySender,
  receiver: MemoryReceiver,
  req: SendReq,
  sig = signal(),
): Promise<void> {
  const { usedResumeToken, stream } = await sender.send(req, sig);
  await receiver.receive(
    { filesystem: req.filesystem, to: req.to, clearResumeToken: !usedResumeToken },
    stream,
    sig,
  );
}

/** A Readable of exactly `bytes`. */
export const streamOf = (bytes: Buffer): Readable => Readable.from([bytes]);
