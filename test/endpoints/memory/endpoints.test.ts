import { getEventListeners } from 'node:events';
import { MemoryPool, memoryReceiver, memorySender } from '../../../src/endpoints/memory/index.js';
import { at, collect, signal, sourcePool, streamOf, transfer } from './helpers.js';

describe('listing, relative to the root', () => {
  test('a sender rooted at tank lists its root as "" and the datasets below it, placeholders flagged', async () => {
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('tank/data/home');
    pool.createDataset('tank/ph', { placeholder: true });
    pool.createDataset('tankx/other');
    expect(await memorySender(pool, 'tank').listFilesystems(signal())).toEqual([
      { path: '', isPlaceholder: false },
      { path: 'data', isPlaceholder: false },
      { path: 'data/home', isPlaceholder: false },
      { path: 'ph', isPlaceholder: true },
    ]);
    expect((await memorySender(pool).listFilesystems(signal())).map((f) => f.path)).toEqual([
      'tank',
      'tank/data',
      'tank/data/home',
      'tank/ph',
      'tankx',
      'tankx/other',
    ]);
  });

  test('versions: snapshots and bookmarks by txg, bookmarks first at equal txg; a missing fs rejects', async () => {
    const { pool, a, b } = sourcePool();
    const mark = pool.bookmark('tank/data', 'a', 'mark');
    const sender = memorySender(pool, 'tank');
    expect(await sender.listFilesystemVersions('data', signal())).toEqual([mark, a, b]);
    await expect(sender.listFilesystemVersions('nope', signal())).rejects.toThrow(
      'dataset tank/nope does not exist',
    );
  });

  test('a receiver rooted at backup/host1 stores data/home below it, creates missing parents as placeholders, lists it back', async () => {
    const { pool: src } = sourcePool();
    src.createDataset('tank/data/home');
    const home = src.snapshot('tank/data/home', 'h1', { creation: at(3) });
    const dst = new MemoryPool({ seed: 'dst' });
    const receiver = memoryReceiver(dst, 'backup/host1');
    await transfer(memorySender(src, 'tank'), receiver, { filesystem: 'data/home', to: home });

    expect(dst.paths()).toEqual([
      'backup',
      'backup/host1',
      'backup/host1/data',
      'backup/host1/data/home',
    ]);
    expect(dst.paths().map((p) => dst.get(p)?.placeholder)).toEqual([true, true, true, false]);
    expect(await receiver.listFilesystems(signal())).toEqual([
      { path: '', isPlaceholder: true },
      { path: 'data', isPlaceholder: true },
      { path: 'data/home', isPlaceholder: false },
    ]);
    expect(
      (await receiver.listFilesystemVersions('data/home', signal())).map((x) => x.guid),
    ).toEqual([home.guid]);
  });
});

describe('a receiver never writes outside its root', () => {
  const hostile = [
    '..',
    '../x',
    'a/../../b',
    './a',
    '/abs',
    'a//b',
    'a/',
    'a@b',
    'a#b',
    'a\nb',
    'a\u0000b',
    'a/\u007f',
    ' ',
    'a/ /b',
  ];
  test.each(hostile)('refuses %j before anything is written', async (path) => {
    const { pool: src, a } = sourcePool();
    const dst = new MemoryPool({ seed: 'dst' });
    dst.createDataset('backup/host1');
    const before = JSON.stringify(dst.toFixture());
    const receiver = memoryReceiver(dst, 'backup/host1');
    const { stream } = await memorySender(src, 'tank').send(
      { filesystem: 'data', to: a },
      signal(),
    );

    await expect(
      receiver.receive({ filesystem: path, to: a, clearResumeToken: true }, stream, signal()),
    ).rejects.toThrow(/^refusing filesystem path/);
    expect(stream.destroyed).toBe(true);
    await expect(receiver.listFilesystemVersions(path, signal())).rejects.toThrow(
      /^refusing filesystem path/,
    );
    expect(JSON.stringify(dst.toFixture())).toBe(before);
  });

  test('"" is the root itself: a receive lands in backup/host1, nothing above it changes', async () => {
    const { pool: src, a } = sourcePool();
    const dst = new MemoryPool({ seed: 'dst' });
    dst.createDataset('backup/host1');
    const receiver = memoryReceiver(dst, 'backup/host1');
    await transfer(memorySender(src, 'tank/data'), receiver, { filesystem: '', to: a });
    expect(dst.get('backup/host1')?.snapshots.map((s) => s.guid)).toEqual([a.guid]);
    expect(dst.get('backup')?.snapshots).toEqual([]);
    expect((await receiver.listFilesystemVersions('', signal())).map((v) => v.guid)).toEqual([
      a.guid,
    ]);
  });

  test('without a root (the whole pool) "" names nothing and is refused', async () => {
    const { pool, a } = sourcePool();
    await expect(memorySender(pool).sendDry({ filesystem: '', to: a }, signal())).rejects.toThrow(
      /^refusing filesystem path "": empty path/,
    );
  });

  test('the root itself must be a valid dataset name', () => {
    expect(() => memoryReceiver(new MemoryPool({ seed: 1 }), '../etc')).toThrow(
      /refusing root dataset/,
    );
  });
});

describe('send streams', () => {
  test('deterministic bytes: a header naming fs and guids, then the payload; sendDry says the length', async () => {
    const { pool, a, b } = sourcePool();
    const sender = memorySender(pool, 'tank');
    const req = { filesystem: 'data', from: a, to: b };
    const first = await collect((await sender.send(req, signal())).stream);
    const second = await collect((await sender.send(req, signal())).stream);
    expect(first.equals(second)).toBe(true);
    const header = JSON.parse(first.subarray(0, first.indexOf('\n')).toString()) as Record<
      string,
      unknown
    >;
    expect(header).toMatchObject({
      fs: 'data',
      fromGuid: a.guid,
      toGuid: b.guid,
      toName: 'b',
      payloadSize: 2000,
      offset: 0,
    });
    expect((await sender.sendDry(req, signal())).expectedSize).toBe(first.length);
    // A full send carries everything up to its target.
    const full = await collect((await sender.send({ filesystem: 'data', to: b }, signal())).stream);
    expect(full.length - full.indexOf('\n') - 1).toBe(5000);
  });

  test('the sender refuses what it cannot send', async () => {
    const { pool, a, b } = sourcePool();
    const sender = memorySender(pool, 'tank');
    await expect(
      sender.send({ filesystem: 'data', to: { ...b, guid: '1' } }, signal()),
    ).rejects.toThrow('cannot send tank/data@b: no snapshot with guid 1');
    await expect(
      sender.send({ filesystem: 'data', from: { ...a, guid: '2' }, to: b }, signal()),
    ).rejects.toThrow('incremental source a (guid 2) does not exist');
    await expect(sender.send({ filesystem: 'data', from: b, to: a }, signal())).rejects.toThrow(
      'incremental source b is not older than @a',
    );
    await expect(sender.send({ filesystem: '../x', to: a }, signal())).rejects.toThrow(
      /^refusing filesystem path/,
    );
  });

  test('a 2 GB stream is generated lazily: little is buffered ahead of the reader', async () => {
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('p');
    const big = pool.snapshot('p', 'big', { size: 2 * 1024 ** 3 });
    const { stream } = await memorySender(pool).send({ filesystem: 'p', to: big }, signal());
    let read = 0;
    for await (const chunk of stream) {
      read += (chunk as Buffer).length;
      expect(stream.readableLength).toBeLessThanOrEqual(128 * 1024);
      if (read > 1024 * 1024) break;
    }
    expect(stream.destroyed).toBe(true);
  });

  test('a fast stream lets the event loop run while it flows (progress and deadlines do not starve)', async () => {
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('p');
    const big = pool.snapshot('p', 'big', { size: 8 * 1024 ** 2 });
    const { stream } = await memorySender(pool).send({ filesystem: 'p', to: big }, signal());
    let ended = false;
    let ranWhileFlowing = false;
    setImmediate(() => (ranWhileFlowing = !ended));
    await collect(stream);
    ended = true;
    expect(ranWhileFlowing).toBe(true);
  });

  test('aborting the send signal destroys the stream; no listener stays on the signal', async () => {
    const { pool, a } = sourcePool();
    const controller = new AbortController();
    const { stream } = await memorySender(pool, 'tank').send(
      { filesystem: 'data', to: a },
      controller.signal,
    );
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(collect(stream)).rejects.toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('receive checks what ZFS checks', () => {
  async function setup(): Promise<{
    src: ReturnType<typeof sourcePool>;
    dst: MemoryPool;
    send: ReturnType<typeof memorySender>;
    recv: ReturnType<typeof memoryReceiver>;
  }> {
    const src = sourcePool();
    const dst = new MemoryPool({ seed: 'dst' });
    return { src, dst, send: memorySender(src.pool, 'tank'), recv: memoryReceiver(dst, 'backup') };
  }

  test("received snapshots keep the sender's guid, name and creation, in txg order", async () => {
    const { src, dst, send, recv } = await setup();
    await transfer(send, recv, { filesystem: 'data', to: src.a });
    await transfer(send, recv, { filesystem: 'data', from: src.a, to: src.b });
    const got = dst.get('backup/data')!.snapshots;
    expect(got.map((s) => [s.name, s.guid, s.creation])).toEqual([
      ['a', src.a.guid, src.a.creation],
      ['b', src.b.guid, src.b.creation],
    ]);
    expect(BigInt(got[0]!.createTxg)).toBeLessThan(BigInt(got[1]!.createTxg));
  });

  test('a full receive into a dataset with snapshots is refused', async () => {
    const { src, dst, send, recv } = await setup();
    await transfer(send, recv, { filesystem: 'data', to: src.a });
    await expect(transfer(send, recv, { filesystem: 'data', to: src.b })).rejects.toThrow(
      'cannot receive full stream into backup/data: destination exists and has snapshots',
    );
    expect(dst.get('backup/data')?.snapshots.map((s) => s.name)).toEqual(['a']);
  });

  test('an incremental whose base is not the newest receiver snapshot: "destination has been modified"', async () => {
    const { src, dst, send, recv } = await setup();
    await transfer(send, recv, { filesystem: 'data', to: src.a });
    dst.snapshot('backup/data', 'local');
    await expect(
      transfer(send, recv, { filesystem: 'data', from: src.a, to: src.b }),
    ).rejects.toThrow(
      /cannot receive incremental stream into backup\/data: destination has been modified since its most recent snapshot \(newest is @local/,
    );
    expect(dst.get('backup/data')?.snapshots.map((s) => s.name)).toEqual(['a', 'local']);
  });

  test('an incremental into a missing dataset is refused', async () => {
    const { src, dst, send, recv } = await setup();
    await expect(
      transfer(send, recv, { filesystem: 'data', from: src.a, to: src.b }),
    ).rejects.toThrow('cannot receive incremental stream: destination backup/data does not exist');
    expect(dst.paths()).toEqual([]);
  });

  test('a stream for another snapshot than the request names is refused, nothing applied', async () => {
    const { src, dst, send, recv } = await setup();
    const { stream } = await send.send({ filesystem: 'data', to: src.a }, signal());
    await expect(
      recv.receive({ filesystem: 'data', to: src.b, clearResumeToken: true }, stream, signal()),
    ).rejects.toThrow(
      `the stream carries snapshot guid ${src.a.guid}, the request expects @b (guid ${src.b.guid})`,
    );
    expect(dst.paths()).toEqual([]);
  });

  test.each([
    ['garbage', Buffer.from('not a stream\n'), /not a memory send stream: the header is not JSON/],
    ['no header line', Buffer.alloc(5000, 65), /no stream header/],
    ['empty', Buffer.alloc(0), /the stream ended before its header/],
  ])('a stream that is not one (%s) is refused, nothing applied', async (_name, bytes, message) => {
    const { src, dst, recv } = await setup();
    await expect(
      recv.receive(
        { filesystem: 'data', to: src.a, clearResumeToken: true },
        streamOf(bytes),
        signal(),
      ),
    ).rejects.toThrow(message);
    expect(dst.paths()).toEqual([]);
  });

  test.each([
    [
      'truncated',
      (b: Buffer) => b.subarray(0, b.length - 10),
      /stream truncated after 2990 of 3000 payload bytes/,
    ],
    [
      'corrupted',
      (b: Buffer) => Buffer.concat([b.subarray(0, b.length - 10), Buffer.from('XXXXXXXXXX')]),
      /stream corrupted at payload byte/,
    ],
    [
      'too long',
      (b: Buffer) => Buffer.concat([b, Buffer.from('!')]),
      /longer than its header says/,
    ],
  ])(
    'a %s stream is refused and leaves nothing on a non-resumable receiver',
    async (_name, mangle, message) => {
      const { src, dst, send, recv } = await setup();
      const bytes = await collect(
        (await send.send({ filesystem: 'data', to: src.a }, signal())).stream,
      );
      await expect(
        recv.receive(
          { filesystem: 'data', to: src.a, clearResumeToken: true },
          streamOf(mangle(bytes)),
          signal(),
        ),
      ).rejects.toThrow(message);
      expect(dst.paths()).toEqual([]);
    },
  );

  test('a second receive into the same dataset while one runs is refused (busy)', async () => {
    const { src, send, recv } = await setup();
    send.faults.setThrottle(1000);
    const controller = new AbortController();
    const first = transfer(send, recv, { filesystem: 'data', to: src.a }, controller.signal);
    await new Promise((resolve) => setImmediate(resolve));
    send.faults.setThrottle(0);
    await expect(transfer(send, recv, { filesystem: 'data', to: src.a })).rejects.toThrow(
      'dataset is busy',
    );
    controller.abort(new Error('done'));
    await expect(first).rejects.toThrow('done');
  });
});
