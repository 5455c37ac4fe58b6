/**
 * The receiver against hostile and unlucky input, with a fake zfs: streams carrying properties
 * (`zfs send -p`) refused before any command, the confining properties of new filesystems, the
 * explicit opt-out, and a complete stream whose end-of-stream comes after zfs recv has exited.
 */
import { Readable } from 'node:stream';
import {
  MINIMAL_CAPABILITIES,
  zfsReceiver,
  type ZfsCapabilities,
} from '../../../src/endpoints/zfs/index.js';
import { pipeIntoRecv } from '../../../src/endpoints/zfs/recv-pipe.js';
import {
  peekStreamHeader,
  STREAM_HEADER_BYTES,
  streamKind,
} from '../../../src/endpoints/zfs/stream-header.js';
import { deferred } from '../../helpers/deferred.js';
import { fakeExec, missing, never, snap, type FakeAnswer } from './fake-exec.js';

const OPENZFS: ZfsCapabilities = {
  ...MINIMAL_CAPABILITIES,
  poolVersion: 'feature-flags',
  bookmarks: true,
  resumeTokens: false,
  sendDryRun: true,
  recvProperties: true,
};

/** The begin record of a zfs stream: `hdrtype` 1 for `zfs send`, 2 for `zfs send -p`/`-R`. */
function beginRecord(hdrtype: 1 | 2, littleEndian = true): Buffer {
  const record = Buffer.alloc(312);
  const versioninfo = BigInt(hdrtype) | (4n << 2n); // plus a feature flag, as zfs sets them
  if (littleEndian) {
    record.writeUInt32LE(hdrtype === 2 ? 0x260 : 0, 4);
    record.writeBigUInt64LE(0x2f5bacbacn, 8);
    record.writeBigUInt64LE(versioninfo, 16);
  } else {
    record.writeUInt32BE(hdrtype === 2 ? 0x260 : 0, 4);
    record.writeBigUInt64BE(0x2f5bacbacn, 8);
    record.writeBigUInt64BE(versioninfo, 16);
  }
  return record;
}

/** A stream of `chunks`, one read at a time (the header may arrive split). */
function streamOf(...chunks: Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

/** The root b/h exists, nothing below it. */
function emptyRoot(program: string, args: string[]): FakeAnswer {
  const dataset = args.at(-1) ?? '';
  if (args[0] === 'list' && dataset === 'b/h') return { stdout: 'b/h\n' };
  if (args[0] === 'get' || args[0] === 'list') return missing(dataset);
  return {};
}

describe('stream headers', () => {
  test('zfs send makes a plain stream, zfs send -p a compound one; either byte order', () => {
    expect(streamKind(beginRecord(1))).toBe('plain');
    expect(streamKind(beginRecord(2))).toBe('compound');
    expect(streamKind(beginRecord(2, false))).toBe('compound');
    expect(streamKind(beginRecord(1, false))).toBe('plain');
    expect(streamKind(Buffer.alloc(STREAM_HEADER_BYTES))).toBe('unknown');
    expect(streamKind(beginRecord(2).subarray(0, 10))).toBe('unknown');
  });

  test('peeking keeps every byte for the next reader, even when the header arrives split', async () => {
    const record = beginRecord(2);
    const stream = streamOf(record.subarray(0, 5), record.subarray(5, 30), record.subarray(30));
    const header = await peekStreamHeader(stream, never);
    expect(streamKind(header)).toBe('compound');
    const rest: Buffer[] = [];
    for await (const chunk of stream) rest.push(chunk as Buffer);
    expect(Buffer.concat(rest)).toEqual(record);
  });

  test('a stream shorter than a header is passed on as it is', async () => {
    const stream = streamOf(Buffer.from('short'));
    expect((await peekStreamHeader(stream, never)).toString()).toBe('short');
    const rest: Buffer[] = [];
    for await (const chunk of stream) rest.push(chunk as Buffer);
    expect(Buffer.concat(rest).toString()).toBe('short');
  });

  test("a stream failing before its header: the stream's own error", async () => {
    const failure = new Error('connection dropped');
    const stream = new Readable({
      read() {
        this.destroy(failure);
      },
    });
    await expect(peekStreamHeader(stream, never)).rejects.toBe(failure);
  });

  test('an abort while waiting for the header rejects with the reason', async () => {
    const controller = new AbortController();
    const stream = new Readable({ read() {} });
    const peek = peekStreamHeader(stream, controller.signal);
    controller.abort(new Error('stop'));
    await expect(peek).rejects.toThrow('stop');
    stream.destroy();
  });
});

describe('a sending client cannot place datasets outside the receiver', () => {
  test('a stream carrying properties (zfs send -p) is refused before any zfs command', async () => {
    const exec = fakeExec(emptyRoot);
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: OPENZFS });
    const stream = streamOf(beginRecord(2), Buffer.alloc(1000));
    const failure = receiver.receive(
      { filesystem: 'home/alice', to: snap('s1'), clearResumeToken: false },
      stream,
      never,
    );
    await expect(failure).rejects.toThrow(
      /^refusing the stream for b\/h\/home\/alice: it carries dataset properties \(made by zfs send -p or -R\)/,
    );
    await expect(failure).rejects.toMatchObject({ name: 'StreamRefusedError' });
    expect(exec.calls).toEqual([]);
    expect(stream.destroyed).toBe(true);
  });

  test('OpenZFS: a new filesystem is confined by the receive itself (recv -o)', async () => {
    const exec = fakeExec(emptyRoot);
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: OPENZFS });
    await receiver.receive(
      { filesystem: 'home', to: snap('s1'), clearResumeToken: false },
      streamOf(beginRecord(1), Buffer.alloc(1000)),
      never,
    );
    expect(exec.commands().filter((c) => !/^zfs (get|list) /.test(c))).toEqual([
      'zfs recv -u -o canmount=noauto -o setuid=off -o exec=off -o devices=off b/h/home@s1',
    ]);
  });

  test('an incremental receive changes no property (an administrator may have set them)', async () => {
    const T = '\t';
    const listing = ['b/h/home', 'b/h/home@s1']
      .flatMap((name) =>
        [
          ['guid', '7'],
          ['createtxg', '3'],
          ['creation', '1'],
          ['type', name.includes('@') ? 'snapshot' : 'filesystem'],
          ['xrepl:placeholder', '-'],
        ].map(([p, v]) => `${name}${T}${p}${T}${v}${T}-`),
      )
      .join('\n');
    const exec = fakeExec((program, args) =>
      args[0] === 'get' ? { stdout: listing } : emptyRoot(program, args),
    );
    for (const capabilities of [OPENZFS, MINIMAL_CAPABILITIES]) {
      exec.calls.length = 0;
      const receiver = zfsReceiver({ root: 'b/h', exec, capabilities });
      await receiver.receive(
        { filesystem: 'home', to: snap('s2'), clearResumeToken: false },
        streamOf(beginRecord(1), Buffer.alloc(1000)),
        never,
      );
      expect(exec.commands().filter((c) => !/^zfs (get|list) /.test(c))).toEqual([
        'zfs recv -u b/h/home@s2',
      ]);
    }
  });

  test('--trust-stream-properties: the stream is received as it is, nothing is overridden', async () => {
    const exec = fakeExec(emptyRoot);
    const receiver = zfsReceiver({
      root: 'b/h',
      exec,
      capabilities: OPENZFS,
      trustStreamProperties: true,
    });
    await receiver.receive(
      { filesystem: 'home', to: snap('s1'), clearResumeToken: false },
      streamOf(beginRecord(2), Buffer.alloc(1000)),
      never,
    );
    expect(exec.commands().filter((c) => !/^zfs (get|list) /.test(c))).toEqual([
      'zfs recv -u b/h/home@s1',
    ]);
  });
});

describe('a receive that completed is not reported failed', () => {
  const SIZE = 300_000;

  /** A complete stream whose end-of-stream waits for `end` after its last byte. */
  function lateEnd(end: Promise<void>): Readable {
    let sent = false;
    return new Readable({
      read() {
        if (sent) return;
        sent = true;
        this.push(Buffer.alloc(SIZE, 1));
        void end.then(() => this.push(null));
      },
    });
  }

  test('zfs recv exits 0 before the end-of-stream arrives: success, the stream is released', async () => {
    // zfs recv reads exactly the stream's bytes and exits 0 without waiting for EOF.
    const exec = fakeExec(undefined, () => `head -c ${SIZE} > /dev/null`);
    const proc = exec.start('zfs', ['recv', '-u', 'b/x@s1']);
    const end = deferred();
    const source = lateEnd(end.promise);
    await expect(pipeIntoRecv(proc, source, never)).resolves.toBeUndefined();
    await expect(proc.exited).resolves.toMatchObject({ exitCode: 0 });
    expect(source.destroyed).toBe(true);
    end.resolve();
  });

  test('the same through the receiver', async () => {
    const exec = fakeExec(emptyRoot, () => `head -c ${SIZE} > /dev/null`);
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: MINIMAL_CAPABILITIES });
    const end = deferred();
    await receiver.receive(
      { filesystem: 'home', to: snap('s1'), clearResumeToken: false },
      lateEnd(end.promise),
      never,
    );
    expect(exec.commands()).toContain('zfs recv -u b/h/home@s1');
    end.resolve();
  });

  test('a stream cut short is never taken as complete: zfs recv fails, so does the receive', async () => {
    const exec = fakeExec(
      undefined,
      () =>
        `test "$(head -c ${SIZE} | wc -c)" -eq ${SIZE} || { echo "incomplete stream" >&2; exit 1; }`,
    );
    const proc = exec.start('zfs', ['recv', '-u', 'b/x@s1']);
    const short = streamOf(Buffer.alloc(SIZE / 2, 1));
    await expect(pipeIntoRecv(proc, short, never)).rejects.toThrow(
      /zfs recv -u b\/x@s1: exit code 1: incomplete stream/,
    );
  });
});
