/**
 * OpenZFS resume tokens (`receive_resume_token`), decoded without running zfs: the receiver
 * reads its own tokens, even when the snapshot they name lives only on the sender.
 *
 * A token is `<version>-<checksum>-<packed length>-<hex>` (libzfs,
 * `zfs_send_resume_token_to_nvlist`): version 1, the first word of the fletcher-4 checksum of
 * the compressed bytes, the length of the packed nvlist, and the hex of the zlib-compressed
 * nvlist, which zfs packs in its native encoding (`fnvlist_pack`) with `fromguid` (incremental
 * only), `toguid`, `toname`, `object`, `offset`, `bytes` and flags such as `rawok`.
 */
import { inflateSync } from 'node:zlib';

/** What an OpenZFS resume token says about the interrupted send. */
export interface ZfsResumeToken {
  /** Incremental source guid (decimal); absent for a full send. */
  fromGuid?: string;
  toGuid: string;
  /** The sender's full snapshot name, e.g. `tank/data@s2`. */
  toName: string;
  /** Bytes of the stream already received. */
  bytes?: string;
  /** Names of the boolean flags it carries (`rawok`, `compressok`, `largeblockok`, ...). */
  flags: string[];
}

/** Thrown when a string is not a readable OpenZFS resume token; the message says why. */
export class ResumeTokenFormatError extends Error {
  override readonly name = 'ResumeTokenFormatError';
}

const TOKEN = /^(\d+)-([0-9a-f]+)-([0-9a-f]+)-((?:[0-9a-f]{2})+)$/;
const MAX_PACKED = 1 << 20;
const U64 = (1n << 64n) - 1n;

/** First word of fletcher-4 over the 32-bit little-endian words (a trailing partial word is ignored, as in zfs). */
function fletcher4First(bytes: Buffer): bigint {
  let a = 0n;
  for (let i = 0; i + 4 <= bytes.length; i += 4) a = (a + BigInt(bytes.readUInt32LE(i))) & U64;
  return a;
}

// data_type_t values of the nvpairs a token holds (sys/nvpair.h).
const BOOLEAN = 1;
const UINT64 = 8;
const INT64 = 7;
const STRING = 9;

type NvValue =
  | { type: 'uint64'; value: bigint }
  | { type: 'string'; value: string }
  | { type: 'boolean' }
  | { type: 'other' };

/** Decodes a native-encoded packed nvlist (the pairs of its top level). */
export function unpackNativeNvlist(packed: Buffer): Map<string, NvValue> {
  const bad = (why: string): ResumeTokenFormatError =>
    new ResumeTokenFormatError(`resume token nvlist: ${why}`);
  if (packed.length < 12) throw bad('too short');
  const encoding = packed[0];
  const littleEndian = packed[1] === 1;
  if (encoding !== 0) throw bad(`encoding ${encoding} is not the native encoding zfs uses`);
  const i32 = (at: number): number =>
    littleEndian ? packed.readInt32LE(at) : packed.readInt32BE(at);
  const i16 = (at: number): number =>
    littleEndian ? packed.readInt16LE(at) : packed.readInt16BE(at);
  const u64 = (at: number): bigint =>
    littleEndian ? packed.readBigUInt64LE(at) : packed.readBigUInt64BE(at);
  const pairs = new Map<string, NvValue>();
  let at = 12; // nvs header (4), nvl_version (4), nvl_nvflag (4)
  for (;;) {
    if (at + 4 > packed.length) throw bad('ends without its terminator');
    const size = i32(at);
    if (size === 0) return pairs;
    if (size < 16 || size % 8 !== 0 || at + size > packed.length) throw bad(`pair size ${size}`);
    const nameSize = i16(at + 4);
    const elements = i32(at + 8);
    const type = i32(at + 12);
    if (nameSize < 1 || 16 + nameSize > size) throw bad(`name size ${nameSize}`);
    const name = packed.toString('latin1', at + 16, at + 16 + nameSize - 1);
    const valueAt = at + 16 + Math.ceil(nameSize / 8) * 8;
    let value: NvValue = { type: 'other' };
    if ((type === UINT64 || type === INT64) && elements === 1 && valueAt + 8 <= at + size) {
      value = { type: 'uint64', value: u64(valueAt) };
    } else if (type === STRING && elements === 1) {
      const end = packed.indexOf(0, valueAt);
      if (end < 0 || end >= at + size) throw bad(`string ${name} has no end`);
      value = { type: 'string', value: packed.toString('utf8', valueAt, end) };
    } else if (type === BOOLEAN) {
      value = { type: 'boolean' };
    }
    pairs.set(name, value);
    at += size;
  }
}

/**
 * Decodes an OpenZFS resume token, checking its version, checksum and length.
 *
 * @example
 * decodeZfsResumeToken('1-da4ad48fe-e0-789c63...') // { toGuid: '13787…', toName: 'src/data@r1', ... }
 */
export function decodeZfsResumeToken(token: string): ZfsResumeToken {
  const match = TOKEN.exec(token);
  const [, version, checksum, length, hex] = match ?? [];
  if (version === undefined || checksum === undefined || length === undefined || !hex) {
    throw new ResumeTokenFormatError(
      `not an OpenZFS resume token: ${JSON.stringify(token.slice(0, 40))}`,
    );
  }
  if (version !== '1') {
    throw new ResumeTokenFormatError(`resume token version ${version} is not supported (only 1)`);
  }
  const compressed = Buffer.from(hex, 'hex');
  if (fletcher4First(compressed) !== BigInt(`0x${checksum}`)) {
    throw new ResumeTokenFormatError('resume token is corrupt (checksum mismatch)');
  }
  const packedLength = Number.parseInt(length, 16);
  if (!(packedLength > 0 && packedLength <= MAX_PACKED)) {
    throw new ResumeTokenFormatError(`resume token has an implausible length ${length}`);
  }
  let packed: Buffer;
  try {
    packed = inflateSync(compressed, { maxOutputLength: MAX_PACKED });
  } catch (cause) {
    throw new ResumeTokenFormatError('resume token does not decompress', { cause });
  }
  if (packed.length !== packedLength) {
    throw new ResumeTokenFormatError(
      `resume token is corrupt (${packed.length} bytes unpacked, ${packedLength} announced)`,
    );
  }
  const pairs = unpackNativeNvlist(packed);
  const uint = (name: string): string | undefined => {
    const v = pairs.get(name);
    return v?.type === 'uint64' ? v.value.toString() : undefined;
  };
  const toGuid = uint('toguid');
  const toName = pairs.get('toname');
  if (toGuid === undefined || toName?.type !== 'string') {
    throw new ResumeTokenFormatError('resume token lacks toguid or toname');
  }
  const fromGuid = uint('fromguid');
  const bytes = uint('bytes');
  return {
    ...(fromGuid !== undefined && { fromGuid }),
    toGuid,
    toName: toName.value,
    ...(bytes !== undefined && { bytes }),
    flags: [...pairs].filter(([, v]) => v.type === 'boolean').map(([k]) => k),
  };
}
