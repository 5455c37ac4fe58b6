/**
 * The receiver's protections on real ZFS (zfs-fuse, or OpenZFS with `npm run test:openzfs`;
 * ZFS-TESTING.md): new filesystems are
 * confined (canmount=noauto setuid=off exec=off devices=off, mountpoint below the root) and
 * stay receivable; a placeholder someone wrote files into is never replaced. In order.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FilesystemVersion, Receiver, Sender } from '../../../src/endpoints/types.js';
import { zfsReceiver, zfsSender } from '../../../src/endpoints/zfs/index.js';
import {
  childProcesses,
  createPools,
  describeZfs,
  destroyPools,
  fileTree,
  writeFile,
  zfs,
  zfsGet,
  zfsTimeout,
  type TestPools,
} from '../../helpers/zfs.js';

const never = new AbortController().signal;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describeZfs('receiver hardening on real ZFS', () => {
  let pools: TestPools;
  let src: string;
  let dst: string;
  let sender: Sender;
  let receiver: Receiver;

  const version = async (fs: string, name: string): Promise<FilesystemVersion> => {
    const found = (await sender.listFilesystemVersions(fs, never)).find((v) => v.name === name);
    if (found === undefined) throw new Error(`no ${fs}@${name}`);
    return found;
  };
  async function transfer(fs: string, from: string | undefined, to: string): Promise<void> {
    const req = {
      filesystem: fs,
      from: from === undefined ? undefined : await version(fs, from),
      to: await version(fs, to),
    };
    const { stream }: { stream: Readable } = await sender.send(req, never);
    await receiver.receive({ filesystem: fs, to: req.to, clearResumeToken: false }, stream, never);
  }
  const properties = (dataset: string): Record<string, string> =>
    Object.fromEntries(
      ['canmount', 'setuid', 'exec', 'devices'].map((p) => [p, zfsGet(p, dataset)]),
    );

  beforeAll(async () => {
    pools = await createPools(['src', 'dst']);
    src = `${pools.name.src}/data`;
    dst = `${pools.name.dst}/backup`;
    for (const fs of ['', '/home', '/home/alice', '/docs', '/docs/report'])
      zfs('create', `${src}${fs}`);
    // The sender's own settings travel in no stream (xrepl sends without -p).
    zfs('set', 'setuid=on', `${src}/home/alice`);
    writeFile(join(zfsGet('mountpoint', `${src}/home/alice`), 'notes.txt'), 'hello\n');
    zfs('snapshot', '-r', `${src}@s1`);
    zfs('create', dst);
    sender = zfsSender({ root: src });
    receiver = zfsReceiver({ root: dst });
  }, zfsTimeout(60_000));

  afterAll(async () => {
    if (pools !== undefined) await destroyPools(pools);
  });

  test('a new filesystem is confined, its mountpoint inherited below the root', async () => {
    await transfer('home/alice', undefined, 's1');
    const alice = `${dst}/home/alice`;
    expect(properties(alice)).toEqual({
      canmount: 'noauto',
      setuid: 'off',
      exec: 'off',
      devices: 'off',
    });
    expect(zfsGet('mountpoint', alice)).toBe(join(pools.dir, 'mnt/dst/backup/home/alice'));
    expect(zfsGet('mounted', alice)).toBe('no');
    // The placeholder parent records its empty size.
    expect(zfsGet('xrepl:placeholder-referenced', `${dst}/home`)).toMatch(/^\d+$/);
  });

  test('the confined filesystem takes incrementals; an explicit zfs mount still works', async () => {
    writeFile(join(zfsGet('mountpoint', `${src}/home/alice`), 'more.txt'), 'more\n');
    zfs('snapshot', `${src}/home/alice@s2`);
    await transfer('home/alice', 's1', 's2');
    const alice = `${dst}/home/alice`;
    expect(zfsGet('canmount', alice)).toBe('noauto');
    zfs('mount', alice);
    try {
      expect(fileTree(zfsGet('mountpoint', alice)).get('more.txt')).toBe(sha256('more\n'));
    } finally {
      zfs('umount', alice);
    }
  });

  test('a placeholder someone wrote files into is not replaced by a full receive', async () => {
    await transfer('docs/report', undefined, 's1');
    const docs = `${dst}/docs`;
    // Made mountable, written to, and closed again: only its size tells.
    zfs('set', 'canmount=on', docs);
    zfs('mount', docs); // (never zfs mount -O: it crashes zfs-fuse's daemon)
    writeFile(
      join(zfsGet('mountpoint', docs), 'precious.txt'),
      'written into the placeholder\n'.repeat(200),
    );
    zfs('umount', docs);
    zfs('set', 'canmount=off', docs);

    await expect(transfer('docs', undefined, 's1')).rejects.toThrow(
      new RegExp(`^refusing to replace placeholder ${docs} with a full receive: .*references`),
    );
    expect(childProcesses()).toEqual([]);
    zfs('set', 'canmount=on', docs);
    zfs('mount', docs);
    try {
      expect(fileTree(zfsGet('mountpoint', docs)).has('precious.txt')).toBe(true);
    } finally {
      zfs('umount', docs);
    }
    // Still mountable now: refused for that reason too.
    await expect(transfer('docs', undefined, 's1')).rejects.toThrow(/canmount is on/);
    expect(zfsGet('xrepl:placeholder', docs)).toBe('on');
  });

  test('an empty placeholder is replaced, confined, and its marks cleared', async () => {
    zfs('create', '-p', `${src}/www/site`);
    zfs('snapshot', '-r', `${src}/www@s1`);
    await transfer('www/site', undefined, 's1');
    await transfer('www', undefined, 's1');
    const www = `${dst}/www`;
    expect(properties(www)).toEqual({
      canmount: 'noauto',
      setuid: 'off',
      exec: 'off',
      devices: 'off',
    });
    expect(zfs('get', '-H', '-o', 'source', 'xrepl:placeholder', www).trim()).toBe('-');
    expect(zfs('get', '-H', '-o', 'source', 'xrepl:placeholder-referenced', www).trim()).toBe('-');
  });
});
