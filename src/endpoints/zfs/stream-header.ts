/**
 * The first record of a `zfs send` stream, read before `zfs recv` starts: it tells a plain
 * stream (one snapshot's data, what xrepl's senders make) from a compound one (`zfs send -p`,
 * `-R`, ...), whose header carries dataset properties such as `mountpoint` and `setuid`.
 * A receiver that does not trust its senders refuses compound streams (see property-policy.ts).
 */
import type { Readable } from 'node:stream';

/** drr_type (u32), drr_payloadlen (u32), drr_magic (u64), drr_versioninfo (u64). */
export const STREAM_HEADER_BYTES = 24;

/** DMU_BACKUP_MAGIC, in the sender's byte order. */
const MAGIC = 0x2f5bacbacn;

/** DMU_GET_STREAM_HDRTYPE: the low two bits of drr_versioninfo. 1 substream, 2 compound. */
export type StreamKind = 'plain' | 'compound' | 'unknown';

/**
 * The kind of the stream starting with `header` (its first STREAM_HEADER_BYTES bytes or fewer).
 * `unknown` for anything that is not the begin record of a zfs stream: zfs recv refuses it.
 */
export function streamKind(header: Buffer): StreamKind {
  if (header.length < STREAM_HEADER_BYTES) return 'unknown';
  for (const littleEndian of [true, false]) {
    const u32 = (at: number): number =>
      littleEndian ? header.readUInt32LE(at) : header.readUInt32BE(at);
    const u64 = (at: number): bigint =>
      littleEndian ? header.readBigUInt64LE(at) : header.readBigUInt64BE(at);
    if (u32(0) !== 0 || u64(8) !== MAGIC) continue; // DRR_BEGIN is type 0
    const hdrtype = Number(u64(16) & 3n);
    if (hdrtype === 1) return 'plain';
    if (hdrtype === 2) return 'compound';
    return 'unknown';
  }
  return 'unknown';
}

/**
 * Reads the first STREAM_HEADER_BYTES bytes of `stream` (fewer when it ends sooner) and puts
 * them back, so whoever consumes the stream next still gets every byte. Rejects with the
 * stream's own error when it fails first, and with `signal.reason` on abort.
 */
export async function peekStreamHeader(stream: Readable, signal: AbortSignal): Promise<Buffer> {
  signal.throwIfAborted();
  if (stream.errored !== null) throw stream.errored;
  return new Promise<Buffer>((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const finish = (header: Buffer): void => {
      cleanup();
      if (header.length > 0) stream.unshift(header);
      resolve(header);
    };
    function onReadable(): void {
      // read(n) returns null until n bytes are buffered, or what is left once the stream ended.
      const chunk = stream.read(STREAM_HEADER_BYTES) as Buffer | null;
      if (chunk !== null) finish(chunk);
    }
    function onEnd(): void {
      finish(Buffer.alloc(0));
    }
    function onError(err: unknown): void {
      cleanup();
      reject(err);
    }
    function onClose(): void {
      cleanup();
      reject(stream.errored ?? new Error('the stream closed before its first record arrived'));
    }
    function onAbort(): void {
      cleanup();
      reject(signal.reason);
    }
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
