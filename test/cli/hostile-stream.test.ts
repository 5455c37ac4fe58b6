/**
 * A hostile sender on real ZFS (zfs-fuse, or OpenZFS with `npm run test:openzfs`;
 * ZFS-TESTING.md): a served sender whose `zfs send` adds `-p`, so its streams carry
 * `mountpoint=<outside the receiver>` and `setuid=on`. Pulled by the CLI into a local zfs:
 * receiver, and pushed on by the CLI into an `xrepl serve` receiver, nothing lands; only the explicit `--trust-stream-properties` takes such a stream, and says so.
 * (The sender is served from the library: the CLI's zfs is the one on PATH, and jest's
 * process.env does not reach spawned processes.)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zfsSender } from '../../src/endpoints/zfs/index.js';
import { ReportSchema } from '../../src/report/schema.js';
import { startServer, type RunningServer } from '../../src/transport/server.js';
import {
  createPools,
  describeZfs,
  destroyPools,
  writeFile,
  zfs,
  zfsGet,
  zfsTimeout,
  type TestPools,
} from '../helpers/zfs.js';
import { run, serveInProcess } from './helpers.js';

describeZfs('a sender whose streams carry properties (zfs send -p)', () => {
  let pools: TestPools;
  let src: string;
  let dst: string;
  let outside: string;
  let hostile: RunningServer;
  let bin: string | undefined;

  /** Every dataset below `dataset` with its mountpoint and where that comes from. */
  const mountpoints = (dataset: string): string[] =>
    zfs('get', '-H', '-r', '-o', 'name,value,source', 'mountpoint', dataset)
      .split('\n')
      .filter((line) => line !== '');

  const replicate = async (from: string, to: string, ...more: string[]) => {
    const { code, io } = await run([
      'replicate',
      '--from',
      from,
      '--to',
      to,
      '--initial',
      'all',
      '--max-attempts',
      '1',
      '--json',
      ...more,
    ]);
    return { code, err: io.err, report: ReportSchema.parse(JSON.parse(io.out)) };
  };

  beforeAll(async () => {
    pools = await createPools(['src', 'dst']);
    src = `${pools.name.src}/data`;
    dst = `${pools.name.dst}/backup`;
    outside = join(pools.dir, 'outside-the-receiver');
    zfs('create', src);
    zfs('create', '-o', `mountpoint=${outside}`, '-o', 'setuid=on', `${src}/evil`);
    writeFile(join(outside, 'payload'), 'placed by the sender\n');
    zfs('snapshot', `${src}/evil@s1`);
    zfs('umount', `${src}/evil`);
    for (const fs of ['pull', 'push', 'trusted']) zfs('create', '-p', `${dst}/${fs}`);
    // The hostile sender: a zfs whose send always adds -p.
    const real = spawnSync('sh', ['-c', 'command -v zfs'], { encoding: 'utf8' }).stdout.trim();
    // On this host, also where the pools' files live elsewhere (OpenZFS in a guest).
    bin = mkdtempSync(join(tmpdir(), 'xrepl-hostile-'));
    writeFileSync(
      join(bin, 'zfs'),
      `#!/bin/sh\nif [ "$1" = send ] && [ $# -gt 1 ]; then shift; exec ${real} send -p "$@"; fi\nexec ${real} "$@"\n`,
    );
    chmodSync(join(bin, 'zfs'), 0o755);
    hostile = await startServer({
      role: 'sender',
      endpoint: zfsSender({ root: src, zfsPath: join(bin, 'zfs') }),
      listen: '127.0.0.1:0',
    });
  }, zfsTimeout(60_000));

  afterAll(async () => {
    await hostile?.close();
    if (pools !== undefined) await destroyPools(pools);
    if (bin !== undefined) rmSync(bin, { recursive: true, force: true });
  });

  const refused = /refusing the stream for \S+evil: it carries dataset properties/;

  test('pulled by the CLI into a local zfs: receiver: refused, nothing received', async () => {
    const { code, err, report } = await replicate(hostile.url, `zfs:${dst}/pull`);
    expect(code).toBe(1);
    expect(report.state).toBe('failed');
    expect(err).toMatch(refused);
    expect(mountpoints(`${dst}/pull`)).toEqual([
      `${dst}/pull\t${pools.dir}/mnt/dst/backup/pull\tinherited from ${pools.name.dst}`,
    ]);
  });

  test('pushed into xrepl serve: refused by the server, nothing received', async () => {
    const server = await serveInProcess([
      '--listen',
      '127.0.0.1:0',
      '--role',
      'receiver',
      '--zfs',
      `${dst}/push`,
    ]);
    try {
      const { code, err } = await replicate(hostile.url, server.url);
      expect(code).toBe(1);
      expect(err).toMatch(refused);
    } finally {
      await server.stop();
    }
    expect(mountpoints(`${dst}/push`)).toHaveLength(1);
  });

  test('--trust-stream-properties takes the stream as it is, and warns', async () => {
    const { code, err } = await replicate(
      hostile.url,
      `zfs:${dst}/trusted`,
      '--trust-stream-properties',
    );
    expect(code).toBe(0);
    expect(err).toMatch(/stream properties trusted \(--trust-stream-properties\)/);
    expect(zfsGet('mountpoint', `${dst}/trusted/evil`)).toBe(outside);
    expect(zfsGet('setuid', `${dst}/trusted/evil`)).toBe('on');
    expect(zfsGet('mounted', `${dst}/trusted/evil`)).toBe('no');
  });

  test('--trust-stream-properties is refused where it cannot apply', async () => {
    const { code, io } = await run([
      'replicate',
      '--from',
      `zfs:${src}`,
      '--to',
      'memory:',
      '--trust-stream-properties',
    ]);
    expect(code).toBe(2);
    expect(io.err).toMatch(/--trust-stream-properties applies to a zfs: receiver only/);
  });
});
