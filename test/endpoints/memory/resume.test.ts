import {
  decodeResumeToken,
  encodeResumeToken,
  MemoryPool,
  memoryReceiver,
  memorySender,
} from '../../../src/endpoints/memory/index.js';
import { collect, signal, sourcePool, transfer } from './helpers.js';

function pools(resumable: boolean): {
  src: ReturnType<typeof sourcePool>;
  dst: MemoryPool;
  send: ReturnType<typeof memorySender>;
  recv: ReturnType<typeof memoryReceiver>;
} {
  const src = sourcePool();
  const dst = new MemoryPool({ seed: 'dst' });
  return {
    src,
    dst,
    send: memorySender(src.pool, 'tank'),
    recv: memoryReceiver(dst, 'backup', { resumable }),
  };
}

/** Header length of the full send of `to` (the receiver's byte budget counts it too). */
async function headerLength(
  send: ReturnType<typeof memorySender>,
  req: Parameters<typeof send.send>[0],
): Promise<number> {
  const bytes = await collect((await send.send(req, signal())).stream);
  return bytes.indexOf('\n') + 1;
}

describe('resumable receive', () => {
  test('an interrupted receive leaves partial state and a resume token naming fs, guids and bytes', async () => {
    const { src, dst, send, recv } = pools(true);
    const req = { filesystem: 'data', from: src.a, to: src.b };
    await transfer(send, recv, { filesystem: 'data', to: src.a });
    const header = await headerLength(send, req);
    recv.faults.failAfterBytes(header + 1234);

    await expect(transfer(send, recv, req)).rejects.toMatchObject({ code: 'ECONNRESET' });

    expect(dst.get('backup/data')?.snapshots.map((s) => s.name)).toEqual(['a']);
    const listed = (await recv.listFilesystems(signal())).find((fs) => fs.path === 'data');
    expect(decodeResumeToken(listed!.resumeToken!)).toEqual({
      fs: 'data',
      fromGuid: src.a.guid,
      toGuid: src.b.guid,
      toName: 'b',
      bytes: 1234,
    });
  });

  test('a send with the resume token continues from its offset and completes the receive', async () => {
    const { src, dst, send, recv } = pools(true);
    const full = { filesystem: 'data', to: src.b };
    const whole = (await send.sendDry(full, signal())).expectedSize;
    recv.faults.failAfterBytes((await headerLength(send, full)) + 4000);
    await expect(transfer(send, recv, full)).rejects.toThrow('ECONNRESET');
    const listed = (await recv.listFilesystems(signal())).find((fs) => fs.path === 'data');
    const resumeToken = listed!.resumeToken!;

    const resumed = { ...full, resumeToken };
    const remaining = (await send.sendDry(resumed, signal())).expectedSize;
    expect(remaining).toBeLessThan(whole - 3900);
    const { usedResumeToken, stream } = await send.send(resumed, signal());
    expect(usedResumeToken).toBe(true);
    await recv.receive(
      { filesystem: 'data', to: src.b, clearResumeToken: false },
      stream,
      signal(),
    );

    expect(dst.get('backup/data')?.snapshots.map((s) => s.guid)).toEqual([src.b.guid]);
    expect(dst.get('backup/data')?.partial).toBeUndefined();
    expect((await recv.listFilesystems(signal())).some((fs) => fs.resumeToken)).toBe(false);
  });

  test('a resumed stream that does not match the partial state is refused, the state kept', async () => {
    const { src, dst, send, recv } = pools(true);
    recv.faults.failAfterBytes(500);
    await expect(transfer(send, recv, { filesystem: 'data', to: src.a })).rejects.toThrow();
    const partial = dst.get('backup/data')?.partial;
    const listed = (await recv.listFilesystems(signal())).find((fs) => fs.path === 'data');
    const forged = decodeResumeToken(listed!.resumeToken!);
    const { stream } = await send.send(
      {
        filesystem: 'data',
        to: src.a,
        resumeToken: encodeResumeToken({ ...forged, bytes: forged.bytes + 1 }),
      },
      signal(),
    );
    await expect(
      recv.receive({ filesystem: 'data', to: src.a, clearResumeToken: false }, stream, signal()),
    ).rejects.toThrow(
      /cannot resume the receive into backup\/data: .*does not match the partial receive state/,
    );
    expect(dst.get('backup/data')?.partial).toEqual(partial);
  });

  test('receiving over partial state needs clearResumeToken, which discards it', async () => {
    const { src, dst, send, recv } = pools(true);
    recv.faults.failAfterBytes(500);
    await expect(transfer(send, recv, { filesystem: 'data', to: src.a })).rejects.toThrow();

    const { stream } = await send.send({ filesystem: 'data', to: src.b }, signal());
    await expect(
      recv.receive({ filesystem: 'data', to: src.b, clearResumeToken: false }, stream, signal()),
    ).rejects.toThrow(
      'cannot receive into backup/data: it has partially received state (a resume token)',
    );
    expect(dst.get('backup/data')?.partial?.toGuid).toBe(src.a.guid);

    await transfer(send, recv, { filesystem: 'data', to: src.b });
    expect(dst.get('backup/data')?.partial).toBeUndefined();
    expect(dst.get('backup/data')?.snapshots.map((s) => s.guid)).toEqual([src.b.guid]);
  });

  test('a non-resumable receiver discards everything of an interrupted receive', async () => {
    const { src, dst, send, recv } = pools(false);
    send.faults.failAfterBytes(2500, 'unavailable');
    await expect(transfer(send, recv, { filesystem: 'data', to: src.a })).rejects.toMatchObject({
      code: 14,
      metadata: {},
    });
    expect(dst.paths()).toEqual([]);
    expect(await recv.listFilesystems(signal())).toEqual([]);
  });

  test('an aborted receive keeps partial state on a resumable receiver and rejects with the reason', async () => {
    const { src, dst, send, recv } = pools(true);
    const controller = new AbortController();
    const { stream } = await send.send({ filesystem: 'data', to: src.a }, signal());
    const reason = new Error('cancelled');
    stream.once('data', () => controller.abort(reason));
    await expect(
      recv.receive(
        { filesystem: 'data', to: src.a, clearResumeToken: true },
        stream,
        controller.signal,
      ),
    ).rejects.toBe(reason);
    expect(dst.get('backup/data')?.partial?.toGuid).toBe(src.a.guid);
    expect(stream.destroyed).toBe(true);
  });
});
