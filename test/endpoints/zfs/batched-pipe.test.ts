import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeBatched } from '../../../src/endpoints/zfs/batched-pipe.js';
import { until } from '../../helpers/deferred.js';

const never = new AbortController().signal;

/** A destination that records each system-call-sized write: one per _write or _writev. */
function recordingSink(options: { hold?: boolean } = {}): {
  sink: Writable;
  writes: Buffer[][];
  /** Completes the writes held so far and every later one at once. */
  release(): void;
} {
  const writes: Buffer[][] = [];
  const held: (() => void)[] = [];
  let hold = options.hold === true;
  const done = (callback: () => void): void => {
    if (hold) held.push(callback);
    else callback();
  };
  const sink = new Writable({
    highWaterMark: 4096,
    write(chunk: Buffer, _encoding, callback) {
      writes.push([chunk]);
      done(callback);
    },
    writev(chunks, callback) {
      writes.push(chunks.map((c) => c.chunk as Buffer));
      done(callback);
    },
  });
  const release = (): void => {
    hold = false;
    for (const callback of held.splice(0)) callback();
  };
  return { sink, writes, release };
}

const bytesOf = (writes: Buffer[][]): Buffer => Buffer.concat(writes.flat());

describe('pipeBatched: a stream into a zfs recv stdin', () => {
  test('every byte arrives in order and the destination is ended', async () => {
    const { sink, writes } = recordingSink();
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000, i));
    await pipeBatched(Readable.from(chunks), sink, never);
    expect(bytesOf(writes)).toEqual(Buffer.concat(chunks));
    expect(sink.writableFinished).toBe(true);
  });

  test('the chunks of one turn of the event loop go out in one writev', async () => {
    const { sink, writes } = recordingSink();
    const source = new PassThrough();
    const done = pipeBatched(source, sink, never);
    for (let i = 0; i < 8; i++) source.write(Buffer.alloc(16 * 1024, i));
    await until(() => writes.length > 0);
    expect(writes.map((w) => w.length)).toEqual([8]);
    source.end();
    await done;
  });

  test('the source is paused while the destination holds batchBytes (memory stays flat)', async () => {
    const { sink, writes, release } = recordingSink({ hold: true });
    let produced = 0;
    const source = new Readable({
      highWaterMark: 1024,
      read() {
        produced += 1024;
        this.push(produced > 64 * 1024 ? null : Buffer.alloc(1024));
      },
    });
    const done = pipeBatched(source, sink, never, 8 * 1024);
    await until(() => writes.length === 1);
    await until(() => source.isPaused());
    // Bounded by the batch, the source's and the sink's buffers: not the whole stream.
    expect(produced).toBeLessThan(16 * 1024);
    release();
    await done;
    expect(bytesOf(writes).length).toBe(64 * 1024);
  });

  test("the source's error rejects the pipe and destroys the destination", async () => {
    const { sink } = recordingSink();
    const source = new PassThrough();
    const done = pipeBatched(source, sink, never);
    source.write('first bytes');
    source.destroy(new Error('zfs send failed'));
    await expect(done).rejects.toThrow('zfs send failed');
    expect(sink.destroyed).toBe(true);
  });

  test('a destination that closes before the end (zfs recv exited) rejects; the source is destroyed', async () => {
    const { sink } = recordingSink();
    const source = new PassThrough();
    const done = pipeBatched(source, sink, never);
    source.write('first bytes');
    sink.destroy();
    await expect(done).rejects.toThrow(/premature close/i);
    expect(source.destroyed).toBe(true);
  });

  test('an abort rejects with the reason and destroys both streams', async () => {
    const { sink } = recordingSink();
    const source = new PassThrough();
    const abort = new AbortController();
    const done = pipeBatched(source, sink, abort.signal);
    source.write('first bytes');
    const reason = new Error('run cancelled');
    abort.abort(reason);
    await expect(done).rejects.toBe(reason);
    expect(source.destroyed && sink.destroyed).toBe(true);
  });
});
