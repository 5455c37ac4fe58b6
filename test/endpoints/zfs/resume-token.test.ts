/**
 * OpenZFS resume tokens, decoded by the receiver itself. The tokens were captured on OpenZFS
 * 2.1.11 (Debian bookworm, x86_64) from receives interrupted with `head -c`; `zfs send -nvt`
 * printed the values asserted here.
 */
import { deflateSync } from 'node:zlib';
import {
  decodeZfsResumeToken,
  ResumeTokenFormatError,
} from '../../../src/endpoints/zfs/resume-token.js';

/** Full send of src/data@s1 interrupted after 0x4e3988 bytes. */
const FULL =
  '1-80bcb790e-b8-789c636064000310a500c4ec50360710e72765a52697303030419460caa7a515a79680647ce0f26c48f2499525a9c540bac3d20fabfe92fcf4d2cc140686b909abef1e6398c1a48124cf0996cf4bcc4d6560282e4ad64f492c49742836648001001f541667';
/** Incremental send src/data@s1 -> @s2 interrupted after 0x60d90 bytes. */
const INCREMENTAL =
  '1-ea45c25d6-e0-789c636064000310a501c49c50360710a715e5e7a69766a63040c1dc84d5778f31cc605200b2d991d4e52765a5269730303043d561c8a7a515a796806458e0f26c48f2499525a9c5407a022f1b56fd25f910574c89389c72fb6447a306923c27583e2f31379581a1b828593f25b124d1a1d808e66406006d591e0c';

/** A token made the way zfs makes one, around `packed`. */
function tokenOf(packed: Buffer, version = 1): string {
  const compressed = deflateSync(packed);
  let a = 0n;
  for (let i = 0; i + 4 <= compressed.length; i += 4) {
    a = (a + BigInt(compressed.readUInt32LE(i))) & ((1n << 64n) - 1n);
  }
  return `${version}-${a.toString(16)}-${packed.length.toString(16)}-${compressed.toString('hex')}`;
}

describe('OpenZFS resume tokens', () => {
  it('reads a full send: no fromguid, toguid and toname as zfs send -nvt prints them', () => {
    expect(decodeZfsResumeToken(FULL)).toEqual({
      toGuid: BigInt('0x29800c6ddab609d').toString(),
      toName: 'src/data@s1',
      bytes: String(0x4e3988),
      flags: [],
    });
  });

  it('reads an incremental send: fromguid too, guids above 2^63 exact', () => {
    const token = decodeZfsResumeToken(INCREMENTAL);
    expect(token.fromGuid).toBe('186900238658396317');
    expect(token.toGuid).toBe(BigInt('0x8188c9db64c35894').toString()); // > 2^63
    expect(token.toName).toBe('src/data@s2');
    expect(token.bytes).toBe(String(0x60d90));
  });

  it('refuses a token whose hex was altered (checksum)', () => {
    const at = INCREMENTAL.length - 40;
    const altered =
      INCREMENTAL.slice(0, at) + (INCREMENTAL[at] === '0' ? '1' : '0') + INCREMENTAL.slice(at + 1);
    expect(() => decodeZfsResumeToken(altered)).toThrow(/checksum mismatch/);
  });

  it('refuses what is not a token, another version, and a wrong length', () => {
    expect(() => decodeZfsResumeToken('xrepl-mem1-abc')).toThrow(ResumeTokenFormatError);
    expect(() => decodeZfsResumeToken(FULL.replace(/^1-/, '2-'))).toThrow(/version 2/);
    expect(() => decodeZfsResumeToken(FULL.replace('-b8-', '-b0-'))).toThrow(/announced/);
  });

  it('refuses an nvlist that is not natively encoded, or that lacks toguid', () => {
    const xdr = Buffer.alloc(16);
    xdr[0] = 1;
    expect(() => decodeZfsResumeToken(tokenOf(xdr))).toThrow(/encoding 1/);
    const empty = Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => decodeZfsResumeToken(tokenOf(empty))).toThrow(/lacks toguid/);
  });

  it('lists boolean flags (rawok) and reads a big-endian nvlist', () => {
    // Hand-packed big-endian nvlist: toguid=5, toname="p/a@b", rawok.
    const pair = (name: string, type: number, value: Buffer): Buffer => {
      const nameBytes = Buffer.from(`${name}\0`);
      const nameLen = Math.ceil(nameBytes.length / 8) * 8;
      const size = 16 + nameLen + Math.ceil(value.length / 8) * 8;
      const b = Buffer.alloc(size);
      b.writeInt32BE(size, 0);
      b.writeInt16BE(nameBytes.length, 4);
      b.writeInt32BE(type === 1 ? 0 : 1, 8);
      b.writeInt32BE(type, 12);
      nameBytes.copy(b, 16);
      value.copy(b, 16 + nameLen);
      return b;
    };
    const u64 = Buffer.alloc(8);
    u64.writeBigUInt64BE(5n);
    const packed = Buffer.concat([
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
      pair('toguid', 8, u64),
      pair('toname', 9, Buffer.from('p/a@b\0')),
      pair('rawok', 1, Buffer.alloc(0)),
      Buffer.alloc(4),
    ]);
    expect(decodeZfsResumeToken(tokenOf(packed))).toEqual({
      toGuid: '5',
      toName: 'p/a@b',
      flags: ['rawok'],
    });
  });
});
