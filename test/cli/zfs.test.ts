/**
 * `xrepl replicate --from zfs:... --to zfs:...` on real ZFS (zfs-fuse, or OpenZFS with
 * `npm run test:openzfs`; ZFS-TESTING.md):
 * a tree with real files, an initial and an incremental run, a diverged receiver reported as
 * a conflict (exit 1), and the file contents compared at the end. One scenario, in order.
 */
import { join } from 'node:path';
import { ReportSchema, type Report } from '../../src/report/schema.js';
import {
  childProcesses,
  createPools,
  describeZfs,
  fileTree,
  destroyPools,
  writeFile,
  writeRandomFile,
  zfs,
  zfsTimeout,
  zfsGet,
  type TestPools,
} from '../helpers/zfs.js';
import { run } from './helpers.js';

const FILESYSTEMS = ['home', 'home/alice', 'home/alice/docs', 'srv', 'srv/db'];

/** Snapshot names and guids of `dataset` itself, oldest first. */
function snapshots(dataset: string): string[] {
  return zfs('get', '-Hp', '-o', 'name,value', '-d', '1', 'guid', dataset)
    .split('\n')
    .filter((line) => line.startsWith(`${dataset}@`))
    .map((line) => line.slice(dataset.length + 1).replace('\t', ' '));
}

describeZfs('xrepl replicate on real ZFS', () => {
  let pools: TestPools;
  let src: string;
  let dst: string;

  const write = (fs: string, file: string, data: string): void =>
    writeFile(join(zfsGet('mountpoint', `${src}/${fs}`), file), data);
  const writeRandom = (fs: string, file: string, bytes: number): void =>
    writeRandomFile(join(zfsGet('mountpoint', `${src}/${fs}`), file), bytes);
  const replicate = async (
    ...more: string[]
  ): Promise<{ code: number; report: Report; err: string }> => {
    const { code, io } = await run([
      'replicate',
      '--from',
      `zfs:${src}`,
      '--to',
      `zfs:${dst}`,
      '--json',
      ...more,
    ]);
    return { code, report: ReportSchema.parse(JSON.parse(io.out)), err: io.err };
  };
  const steps = (report: Report): Record<string, string[]> =>
    Object.fromEntries(
      (report.attempts.at(-1)?.filesystems ?? []).map((fs) => [
        fs.info.name,
        fs.steps.map((s) => `${s.info.from}->${s.info.to}`),
      ]),
    );

  beforeAll(async () => {
    pools = await createPools(['src', 'dst']);
    src = `${pools.name.src}/data`;
    dst = `${pools.name.dst}/backup`;
    zfs('create', src);
    for (const fs of FILESYSTEMS) zfs('create', `${src}/${fs}`);
    zfs('create', '-p', dst);
    write('home', 'readme.txt', 'home of everyone\n');
    write('home/alice', 'notes/todo.txt', 'buy milk\n');
    writeRandom('home/alice/docs', 'report.bin', 2 << 20);
    write('srv', 'motd', 'welcome\n');
    writeRandom('srv/db', 'table.bin', 1 << 20);
    zfs('snapshot', '-r', `${src}@s1`);
  }, zfsTimeout(60_000));

  afterAll(async () => {
    if (pools !== undefined) await destroyPools(pools);
  });

  test('initial replication of the tree (--initial all): exit 0, same snapshot guids', async () => {
    const { code, report } = await replicate('--initial', 'all');
    expect(code).toBe(0);
    expect(report.state).toBe('done');
    expect(steps(report)).toEqual(Object.fromEntries(FILESYSTEMS.map((fs) => [fs, ['->s1']])));
    for (const fs of FILESYSTEMS)
      expect(snapshots(`${dst}/${fs}`)).toEqual(snapshots(`${src}/${fs}`));
  });

  test('an incremental run sends only the new snapshot', async () => {
    write('home/alice', 'notes/todo.txt', 'buy milk\nand bread\n');
    writeRandom('srv/db', 'table.bin', 1 << 20);
    zfs('snapshot', '-r', `${src}@s2`);
    const { code, report } = await replicate();
    expect(code).toBe(0);
    expect(steps(report)).toEqual(Object.fromEntries(FILESYSTEMS.map((fs) => [fs, ['s1->s2']])));
    for (const fs of FILESYSTEMS)
      expect(snapshots(`${dst}/${fs}`)).toEqual(snapshots(`${src}/${fs}`));
  });

  test('a diverged receiver is a conflict: exit 1 naming it; its children wait (D6), the rest go on', async () => {
    zfs('snapshot', `${dst}/srv@local`);
    zfs('snapshot', '-r', `${src}@s3`);
    const { code, report, err } = await replicate();
    expect(code).toBe(1);
    expect(report.state).toBe('failed');
    const srv = report.attempts.at(-1)?.filesystems.find((fs) => fs.info.name === 'srv');
    expect(srv?.state).toBe('planning-error');
    expect(err).toMatch(
      /^error: srv: cannot replicate srv: the receiver has diverged: after the common snapshot @s2 it has @local/m,
    );
    expect(err).toMatch(/^error: srv\/db: parent\(s\) failed during initial replication: srv$/m);
    for (const fs of ['home', 'home/alice', 'home/alice/docs']) {
      expect(snapshots(`${dst}/${fs}`)).toEqual(snapshots(`${src}/${fs}`));
    }
    expect(snapshots(`${dst}/srv/db`).map((s) => s.split(' ')[0])).toEqual(['s1', 's2']);
    expect(childProcesses()).toEqual([]);
  });

  // Last: mounting a received filesystem (even read-only, on zfs-fuse) modifies it.
  test('received file contents equal the source', () => {
    for (const fs of ['home', 'home/alice', 'home/alice/docs', 'srv/db']) {
      const received = `${dst}/${fs}`;
      zfs('mount', received);
      try {
        const copy = fileTree(zfsGet('mountpoint', received));
        expect(copy.size).toBeGreaterThan(0);
        expect(copy).toEqual(fileTree(zfsGet('mountpoint', `${src}/${fs}`)));
      } finally {
        zfs('umount', received);
      }
    }
  });
});
