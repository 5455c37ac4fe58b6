/**
 * The zfs backend against real ZFS (zfs-fuse on the host, or OpenZFS 2.1 in a guest with
 * `npm run test:openzfs`; ZFS-TESTING.md), through the endpoint API only: full and incremental replication of a tree with real files, placeholders, a transfer
 * aborted mid-stream and retried, diverged receivers, and contents compared at the end.
 * The tests form one scenario and run in order.
 */
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import {
  createZfsExec,
  MINIMAL_CAPABILITIES,
  probeCapabilities,
  zfsReceiver,
  zfsSender,
  ZfsError,
} from '../../../src/endpoints/zfs/index.js';
import type { FilesystemVersion, Receiver, Sender } from '../../../src/endpoints/types.js';
import { StalePlanError } from '../../../src/errors/stale-plan.js';
import {
  childProcesses,
  createPools,
  describeZfs,
  fileTree,
  destroyPools,
  onlyOn,
  writeFile,
  writeRandomFile,
  zfs,
  zfsBackend,
  zfsGet,
  type TestPools,
} from '../../helpers/zfs.js';

const never = new AbortController().signal;

/** Counts bytes passing through, and calls `at` once when `limit` is crossed. */
function tap(limit: number, at: () => void): Transform & { bytes: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      const before = counter.bytes;
      counter.bytes += chunk.length;
      if (before < limit && counter.bytes >= limit) at();
      callback(null, chunk);
    },
  }) as Transform & { bytes: number };
  counter.bytes = 0;
  return counter;
}

describeZfs('zfs backend on real ZFS', () => {
  const backend = zfsBackend();
  let pools: TestPools;
  let src: string; // sender root, e.g. xrepl_t123_ab12_src/data
  let dst: string; // receiver root, e.g. xrepl_t123_ab12_dst/backup/host1
  let sender: Sender;
  let receiver: Receiver;

  const mountpoint = (dataset: string): string => zfsGet('mountpoint', dataset);
  const write = (fs: string, file: string, data: string): void =>
    writeFile(join(mountpoint(`${src}/${fs}`), file), data);
  const writeRandom = (fs: string, file: string, bytes: number): void =>
    writeRandomFile(join(mountpoint(`${src}/${fs}`), file), bytes);
  const version = async (
    endpoint: Sender | Receiver,
    fs: string,
    name: string,
  ): Promise<FilesystemVersion> => {
    const found = (await endpoint.listFilesystemVersions(fs, never)).find((v) => v.name === name);
    if (found === undefined) throw new Error(`no ${fs}@${name}`);
    return found;
  };
  const names = async (endpoint: Sender | Receiver, fs: string): Promise<string[]> =>
    (await endpoint.listFilesystemVersions(fs, never)).map((v) => v.name);

  /** One step as the planner runs it: send, receive, sendCompleted. */
  async function transfer(
    fs: string,
    from: string | undefined,
    to: string,
    options: { signal?: AbortSignal; through?: Transform; resumeToken?: string } = {},
  ): Promise<void> {
    const signal = options.signal ?? never;
    const req = {
      filesystem: fs,
      from: from === undefined ? undefined : await version(sender, fs, from),
      to: await version(sender, fs, to),
      ...(options.resumeToken === undefined ? {} : { resumeToken: options.resumeToken }),
    };
    const { stream } = await sender.send(req, signal);
    const input: Readable = options.through ? stream.pipe(options.through) : stream;
    if (options.through) stream.on('error', (err) => options.through?.destroy(err));
    try {
      await receiver.receive(
        { filesystem: fs, to: req.to, clearResumeToken: false },
        input,
        signal,
      );
    } catch (err) {
      // As the driver does: the step ends once the sender's stream has closed (on OpenZFS,
      // after its step holds are released).
      if (!stream.closed) await new Promise((resolve) => stream.once('close', resolve));
      throw err;
    }
    await sender.sendCompleted(req, signal);
  }

  /** The receiver's resume token for `fs` (OpenZFS keeps an interrupted `recv -s`). */
  const resumeToken = async (fs: string): Promise<string | undefined> =>
    (await receiver.listFilesystems(never)).find((f) => f.path === fs)?.resumeToken;

  /** Same snapshots (the sender also lists its cursor bookmarks on OpenZFS). */
  async function expectSameGuids(fs: string): Promise<void> {
    const snapshots = (versions: FilesystemVersion[]) =>
      versions.filter((v) => v.type === 'snapshot');
    const sent = snapshots(await sender.listFilesystemVersions(fs, never));
    const received = snapshots(await receiver.listFilesystemVersions(fs, never));
    expect(received.map((v) => [v.name, v.guid])).toEqual(sent.map((v) => [v.name, v.guid]));
  }

  beforeAll(async () => {
    pools = await createPools(['src', 'dst']);
    src = `${pools.name.src}/data`;
    dst = `${pools.name.dst}/backup/host1`;
    for (const fs of ['', '/home', '/home/alice', '/www', '/db', '/ph'])
      zfs('create', `${src}${fs}`);
    zfs('set', 'xrepl:placeholder=on', `${src}/ph`);
    zfs('create', `${src}/ph/child`);
    zfs('create', '-p', dst);
    write('home', 'readme.txt', 'home of everyone\n');
    write('home/alice', 'notes/todo.txt', 'buy milk\n');
    writeRandom('home/alice', 'photo.bin', 3 << 20);
    write('www', 'index.html', '<h1>hello</h1>\n');
    writeRandom('db', 'data.bin', 1 << 20);
    write('ph/child', 'inside.txt', 'below a placeholder\n');
    zfs('snapshot', '-r', `${src}@s1`);
    sender = zfsSender({ root: src });
    receiver = zfsReceiver({ root: dst });
  });

  afterAll(async () => {
    if (pools !== undefined) await destroyPools(pools);
  });

  onlyOn('zfs-fuse', 'an OpenZFS pool has feature flags')(
    'capabilities: zfs-fuse pools (version 23) have no bookmarks, resume tokens or estimates',
    async () => {
      const caps = await probeCapabilities(createZfsExec(), pools.name.src ?? '', never);
      expect(caps).toEqual(MINIMAL_CAPABILITIES);
    },
  );

  onlyOn('openzfs', 'zfs-fuse pools are version 23')(
    'capabilities: OpenZFS pools have feature flags, bookmarks, resume tokens and estimates',
    async () => {
      const caps = await probeCapabilities(createZfsExec(), pools.name.src ?? '', never);
      expect(caps).toEqual({
        poolVersion: 'feature-flags',
        bookmarks: true,
        resumeTokens: true,
        sendDryRun: true,
        holds: true,
        encryption: true,
        recvProperties: true,
        sendFlags: 'DLPRVbcehnpvw',
      });
    },
  );

  test('both endpoints are reachable; a missing root is not', async () => {
    await sender.waitForConnectivity(never);
    await receiver.waitForConnectivity(never);
    await expect(
      zfsReceiver({ root: `${pools.name.dst}/nope` }).waitForConnectivity(never),
    ).rejects.toThrow(/dataset does not exist/);
  });

  test('the sender lists its tree relative to the root (itself ""), without its placeholder', async () => {
    expect(await sender.listFilesystems(never)).toEqual(
      ['', 'db', 'home', 'home/alice', 'ph/child', 'www'].map((path) => ({
        path,
        isPlaceholder: false,
      })),
    );
  });

  test('versions carry the exact uint64 guid and createtxg of zfs', async () => {
    const s1 = await version(sender, 'home', 's1');
    expect(s1.guid).toBe(zfsGet('guid', `${src}/home@s1`));
    expect(s1.createTxg).toBe(zfsGet('createtxg', `${src}/home@s1`));
    expect(s1.creation.getTime()).toBe(Number(zfsGet('creation', `${src}/home@s1`)) * 1000);
  });

  test('listFilesystemVersions of a missing filesystem rejects clearly', async () => {
    await expect(receiver.listFilesystemVersions('home', never)).rejects.toThrow(
      `filesystem "home" does not exist (zfs dataset ${dst}/home)`,
    );
  });

  onlyOn('zfs-fuse', 'OpenZFS has send -n -P')(
    'size estimates are 0 (unknown) where send -n -P is missing',
    async () => {
      const to = await version(sender, 'home', 's1');
      const { expectedSize } = await sender.sendDry({ filesystem: 'home', to }, never);
      expect(expectedSize).toBe(0);
    },
  );

  onlyOn('openzfs', 'zfs-fuse has no send -n -P')(
    'size estimates come from send -n -P: a full send of 3 MiB of files',
    async () => {
      const to = await version(sender, 'home/alice', 's1');
      const { expectedSize } = await sender.sendDry({ filesystem: 'home/alice', to }, never);
      expect(expectedSize).toBeGreaterThan(3 << 20);
      expect(expectedSize).toBeLessThan(4 << 20);
    },
  );

  test('a child received before its parent gets a placeholder parent', async () => {
    await transfer('home/alice', undefined, 's1');
    expect(await receiver.listFilesystems(never)).toEqual([
      { path: '', isPlaceholder: false },
      { path: 'home', isPlaceholder: true },
      { path: 'home/alice', isPlaceholder: false },
    ]);
    expect(zfsGet('mounted', `${dst}/home`)).toBe('no');
    await expectSameGuids('home/alice');
  });

  test('a full receive replaces the placeholder and clears the mark; the child stays', async () => {
    await transfer('home', undefined, 's1');
    expect(await receiver.listFilesystems(never)).toEqual([
      { path: '', isPlaceholder: false },
      { path: 'home', isPlaceholder: false },
      { path: 'home/alice', isPlaceholder: false },
    ]);
    await expectSameGuids('home');
    await expectSameGuids('home/alice');
  });

  test('initial full replication of the rest; the sender placeholder becomes a receiver placeholder', async () => {
    for (const fs of ['db', 'www', 'ph/child']) await transfer(fs, undefined, 's1');
    const listed = await receiver.listFilesystems(never);
    expect(listed.map((f) => `${f.path}${f.isPlaceholder ? ' (placeholder)' : ''}`)).toEqual([
      '',
      'db',
      'home',
      'home/alice',
      'ph (placeholder)',
      'ph/child',
      'www',
    ]);
    for (const fs of ['db', 'www', 'ph/child']) await expectSameGuids(fs);
  });

  test('incremental replication of new snapshots', async () => {
    write('home/alice', 'notes/todo.txt', 'buy milk\nand bread\n');
    write('www', 'about.html', '<p>about</p>\n');
    writeRandom('db', 'data.bin', 1 << 20);
    zfs('snapshot', '-r', `${src}@s2`);
    for (const fs of ['home', 'home/alice', 'www', 'db', 'ph/child'])
      await transfer(fs, 's1', 's2');
    for (const fs of ['home', 'home/alice', 'www', 'db', 'ph/child']) {
      expect(await names(receiver, fs)).toEqual(['s1', 's2']);
      await expectSameGuids(fs);
    }
  });

  test('an incremental aborted mid-stream: both zfs processes end, the receiver stays at its previous snapshot', async () => {
    writeRandom('www', 'big.bin', 48 << 20);
    zfs('snapshot', `${src}/www@s3`);
    const controller = new AbortController();
    const reason = new Error('cancelled mid-stream by the test');
    const through = tap(8 << 20, () => controller.abort(reason));
    await expect(transfer('www', 's2', 's3', { signal: controller.signal, through })).rejects.toBe(
      reason,
    );
    expect(through.bytes).toBeGreaterThanOrEqual(8 << 20);
    expect(through.bytes).toBeLessThan(48 << 20);
    expect(childProcesses()).toEqual([]);
    expect(await names(receiver, 'www')).toEqual(['s1', 's2']);
  });

  test('the aborted incremental, retried, completes (on OpenZFS: resumed with send -t)', async () => {
    const token = await resumeToken('www');
    if (backend === 'openzfs') expect(token).toMatch(/^1-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/);
    else expect(token).toBeUndefined();
    await transfer('www', 's2', 's3', { resumeToken: token });
    expect(await names(receiver, 'www')).toEqual(['s1', 's2', 's3']);
    await expectSameGuids('www');
  });

  test('a full send aborted mid-stream leaves no partial filesystem (on OpenZFS: a resumable one); the retry completes', async () => {
    zfs('create', `${src}/bulk`);
    writeRandom('bulk', 'big.bin', 48 << 20);
    zfs('snapshot', `${src}/bulk@s1`);
    const controller = new AbortController();
    const through = tap(8 << 20, () => controller.abort(new Error('stop')));
    await expect(
      transfer('bulk', undefined, 's1', { signal: controller.signal, through }),
    ).rejects.toThrow('stop');
    expect(childProcesses()).toEqual([]);
    const partial = (await receiver.listFilesystems(never)).find((f) => f.path === 'bulk');
    if (backend === 'openzfs') expect(partial?.resumeToken).toMatch(/^1-/);
    else expect(partial).toBeUndefined();
    await transfer('bulk', undefined, 's1', { resumeToken: partial?.resumeToken });
    await expectSameGuids('bulk');
  });

  test("a failing zfs send: the step rejects with a stale plan (D13) caused by zfs's error, the receiver is unchanged", async () => {
    const ghost: FilesystemVersion = { ...(await version(sender, 'db', 's2')), name: 'ghost' };
    const failure = (async () => {
      const { stream } = await sender.send(
        { filesystem: 'db', from: await version(sender, 'db', 's2'), to: ghost },
        never,
      );
      await receiver.receive(
        { filesystem: 'db', to: ghost, clearResumeToken: false },
        stream,
        never,
      );
    })();
    // A snapshot that does not exist is a stale plan, with zfs's error as its cause. On
    // OpenZFS the step hold on the missing snapshot fails first, before zfs send runs.
    await expect(failure).rejects.toBeInstanceOf(StalePlanError);
    await expect(failure).rejects.toMatchObject({ cause: expect.any(ZfsError) });
    await expect(failure).rejects.toThrow(
      /zfs (send|hold) .*db@ghost: exit code \d+: .*does not exist/,
    );
    expect(await names(receiver, 'db')).toEqual(['s1', 's2']);
  });

  test('diverged: a snapshot taken on the receiver makes zfs recv refuse the incremental', async () => {
    // zfs-fuse accepts the incremental past a receiver snapshot without changes: write first.
    zfs('mount', `${dst}/home`);
    writeFile(join(mountpoint(`${dst}/home`), 'rogue.txt'), 'only on the backup\n');
    zfs('umount', `${dst}/home`);
    zfs('snapshot', `${dst}/home@rogue`);
    zfs('snapshot', `${src}/home@s4`);
    const failure = transfer('home', 's2', 's4');
    await expect(failure).rejects.toBeInstanceOf(ZfsError);
    // zfs-fuse compares the base with the newest snapshot; OpenZFS finds the base further
    // back and refuses because the receiver changed since it.
    await expect(failure).rejects.toThrow(
      /does not match incremental source|has been modified since most recent snapshot/,
    );
    expect(await names(receiver, 'home')).toEqual(['s1', 's2', 'rogue']);
    zfs('rollback', '-r', `${dst}/home@s2`);
    await transfer('home', 's2', 's4');
    await expectSameGuids('home');
  });

  test('diverged: a receiver modified since its last snapshot makes zfs recv refuse', async () => {
    zfs('mount', `${dst}/db`);
    writeFile(join(mountpoint(`${dst}/db`), 'local-change.txt'), 'written on the backup\n');
    zfs('umount', `${dst}/db`);
    zfs('snapshot', `${src}/db@s4`);
    await expect(transfer('db', 's2', 's4')).rejects.toThrow(/destination .*db has been modified/);
    expect(await names(receiver, 'db')).toEqual(['s1', 's2']);
  });

  test('hostile paths are refused on a real receiver; nothing appears outside its root', async () => {
    const before = zfs('list', '-H', '-r', '-t', 'all', '-o', 'name', pools.name.dst ?? '');
    const to = await version(sender, 'www', 's1');
    for (const filesystem of ['../escape', '/abs', 'a//b', 'x@y']) {
      const { stream } = await sender.send({ filesystem: 'www', to }, never);
      await expect(
        receiver.receive({ filesystem, to, clearResumeToken: false }, stream, never),
      ).rejects.toThrow(/^refusing filesystem path/);
    }
    expect(zfs('list', '-H', '-r', '-t', 'all', '-o', 'name', pools.name.dst ?? '')).toBe(before);
    expect(childProcesses()).toEqual([]);
  });

  // Last: mounting a received filesystem (even read-only, on zfs-fuse) modifies it.
  test('received file contents equal the source', async () => {
    for (const fs of ['home', 'home/alice', 'www', 'bulk', 'ph/child']) {
      const received = `${dst}/${fs}`;
      zfs('mount', received);
      try {
        const copy = fileTree(mountpoint(received));
        expect(copy.size).toBeGreaterThan(0);
        expect(copy).toEqual(fileTree(mountpoint(`${src}/${fs}`)));
      } finally {
        zfs('umount', received);
      }
    }
  });
});
