/**
 * The simulated send stream: one JSON header line (what ZFS's BEGIN record says: which
 * snapshot, incremental from which guid, resumed from which offset), then `payloadSize -
 * offset` deterministic payload bytes. The payload repeats a 64 KiB pattern derived from the
 * target guid, so any range can be produced (or checked) cheaply, without holding the stream.
 */
import { z } from 'zod';

export const STREAM_MAGIC = 'xrepl-memory-stream/1';
/** Payload chunk size of send streams. */
export const CHUNK_SIZE = 64 * 1024;
/** A header longer than this is not a memory stream: the receiver stops looking for it. */
export const MAX_HEADER_BYTES = 4096;

const StreamHeaderSchema = z.strictObject({
  magic: z.literal(STREAM_MAGIC),
  fs: z.string(),
  fromGuid: z.string().nullable(),
  toGuid: z.string(),
  toName: z.string(),
  toCreation: z.iso.datetime({ offset: true }),
  payloadSize: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
});

export type StreamHeader = z.infer<typeof StreamHeaderSchema>;

export function encodeHeader(header: StreamHeader): Buffer {
  return Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
}

/** Parses a header line (without its newline), or throws saying why it is not one. */
export function parseHeader(line: Buffer): StreamHeader {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch (cause) {
    throw new Error('not a memory send stream: the header is not JSON', { cause });
  }
  const result = StreamHeaderSchema.safeParse(value);
  if (!result.success) {
    throw new Error(`not a memory send stream: bad header (${result.error.issues[0]?.message})`, {
      cause: result.error,
    });
  }
  if (result.data.offset > result.data.payloadSize) {
    throw new Error('not a memory send stream: header offset beyond the payload size');
  }
  return result.data;
}

/** Total bytes of the stream with this header. */
export function streamLength(header: StreamHeader): number {
  return encodeHeader(header).length + header.payloadSize - header.offset;
}

/** The 64 KiB payload pattern of the snapshot with `guid` (xorshift32 seeded by the guid). */
export function payloadPattern(guid: string): Buffer {
  const g = BigInt(guid);
  let x = Number((g ^ (g >> 32n)) & 0xffffffffn) || 0x9e3779b9;
  const pattern = Buffer.allocUnsafe(CHUNK_SIZE);
  for (let i = 0; i < CHUNK_SIZE; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    pattern.writeUInt32LE(x >>> 0, i);
  }
  return pattern;
}

/** Whether `chunk` holds exactly payload bytes [start, start + chunk.length) (no copy made). */
export function payloadMatches(pattern: Buffer, start: number, chunk: Buffer): boolean {
  let checked = 0;
  while (checked < chunk.length) {
    const at = (start + checked) % CHUNK_SIZE;
    const length = Math.min(CHUNK_SIZE - at, chunk.length - checked);
    if (chunk.compare(pattern, at, at + length, checked, checked + length) !== 0) return false;
    checked += length;
  }
  return true;
}

/** Payload bytes [start, start + length) of the stream whose pattern is `pattern`. */
export function payloadBytes(pattern: Buffer, start: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let written = 0;
  while (written < length) {
    const at = (start + written) % CHUNK_SIZE;
    written += pattern.copy(out, written, at, Math.min(CHUNK_SIZE, at + length - written));
  }
  return out;
}
