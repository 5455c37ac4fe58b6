import { Readable } from 'node:stream';
import { zfsReceiver, zfsSender } from '../../../src/endpoints/zfs/index.js';
import { fakeExec, never, snap } from './fake-exec.js';

// No capabilities given: even the capability probe would show up as a call.

const HOSTILE_PATHS = [
  '..',
  '../other',
  'a/../../b',
  '/tank/elsewhere',
  'a//b',
  'a/',
  '.',
  'a/./b',
  'a@s1',
  'a#bm',
  'a\u0000b',
  'a\nb',
  'a\u007fb',
  ' ',
];

describe('a receiver never writes outside its root: hostile paths are refused before any zfs runs', () => {
  test.each(HOSTILE_PATHS)('receive into %j', async (path) => {
    const exec = fakeExec();
    const stream = Readable.from([Buffer.from('stream')]);
    const receiver = zfsReceiver({ root: 'backup/host1', exec });
    await expect(
      receiver.receive(
        { filesystem: path, to: snap('s1'), clearResumeToken: false },
        stream,
        never,
      ),
    ).rejects.toThrow(/^refusing filesystem path/);
    expect(exec.calls).toEqual([]);
    expect(stream.destroyed).toBe(true); // the sender is released, not left blocked
  });

  test.each(HOSTILE_PATHS)('receiver listFilesystemVersions(%j)', async (path) => {
    const exec = fakeExec();
    await expect(
      zfsReceiver({ root: 'backup/host1', exec }).listFilesystemVersions(path, never),
    ).rejects.toThrow(/^refusing filesystem path/);
    expect(exec.calls).toEqual([]);
  });

  test.each(['', 'a/b', '-F', 'x@y', 'x#y', 'a\tb'])(
    'receive of snapshot name %j',
    async (name) => {
      const exec = fakeExec();
      const receiver = zfsReceiver({ root: 'backup/host1', exec });
      await expect(
        receiver.receive(
          { filesystem: 'home', to: snap(name), clearResumeToken: false },
          Readable.from([]),
          never,
        ),
      ).rejects.toThrow(/^refusing snapshot name/);
      expect(exec.calls).toEqual([]);
    },
  );

  test.each(['../x', '/abs', 'a//b', ''])(
    'a root %j is refused when the endpoint is made',
    (root) => {
      expect(() => zfsReceiver({ root })).toThrow(/^refusing root dataset/);
      expect(() => zfsSender({ root })).toThrow(/^refusing root dataset/);
    },
  );
});

describe('the sender refuses hostile requests before any zfs runs', () => {
  test.each(HOSTILE_PATHS)(
    'send, sendDry, sendCompleted, listFilesystemVersions of %j',
    async (path) => {
      const exec = fakeExec();
      const sender = zfsSender({ root: 'tank', exec });
      const req = { filesystem: path, to: snap('s1') };
      await expect(sender.send(req, never)).rejects.toThrow(/^refusing filesystem path/);
      await expect(sender.sendDry(req, never)).rejects.toThrow(/^refusing filesystem path/);
      await expect(sender.sendCompleted(req, never)).rejects.toThrow(/^refusing filesystem path/);
      await expect(sender.listFilesystemVersions(path, never)).rejects.toThrow(
        /^refusing filesystem path/,
      );
      expect(exec.calls).toEqual([]);
    },
  );

  test('a hostile incremental source or resume token', async () => {
    const exec = fakeExec();
    const sender = zfsSender({ root: 'tank', exec });
    await expect(
      sender.send({ filesystem: 'a', from: snap('x/../../y'), to: snap('s2') }, never),
    ).rejects.toThrow(/^refusing incremental source name/);
    await expect(
      sender.send({ filesystem: 'a', to: snap('s2'), resumeToken: 'x; rm -rf /' }, never),
    ).rejects.toThrow(/^refusing resume token/);
    expect(exec.calls).toEqual([]);
  });
});
