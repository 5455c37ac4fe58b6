/**
 * `xrepl check`, `xrepl prune` and `xrepl replicate --filesystems` on real ZFS (zfs-fuse here).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.js';
import { run } from '../cli/helpers.js';
import { datasetsBelow, snapshotsOf } from './zfs-names.js';
import {
  createPools,
  describeZfs,
  destroyPools,
  zfs,
  zfsTimeout,
  type TestPools,
} from '../helpers/zfs.js';

describeZfs('jobs commands on real ZFS', () => {
  let pools: TestPools;
  let src: string;
  let dst: string;
  let hostDir: string | undefined;
  let configFile: string;

  beforeAll(async () => {
    pools = await createPools(['src', 'dst']);
    src = pools.name.src!;
    dst = pools.name.dst!;
    for (const fs of ['home', 'home/a', 'home/tmp', 'other']) zfs('create', `${src}/${fs}`);
    for (const s of ['s1', 's2', 's3']) zfs('snapshot', `${src}/home@${s}`);
    for (const s of ['s1', 's2', 's3']) zfs('snapshot', `${src}/home/a@${s}`);
    zfs('create', `${dst}/backup`);
    // The config is this host's file (with OpenZFS the pools' directory is in the guest).
    hostDir = mkdtempSync(join(tmpdir(), 'xrepl-jobs-'));
    configFile = join(hostDir, 'xrepl.yml');
    writeFileSync(
      configFile,
      `
jobs:
  - name: home
    type: push
    connect: zfs:${dst}/backup
    filesystems: { "${src}/home<": true, "${src}/home/tmp": false }
    snapshotting: { type: manual, prefix: xrepl_ }
    pruning:
      keep_sender: [ { type: last_n, count: 1 } ]
      keep_receiver: [ { type: regex, regex: "^s3$" } ]
`,
    );
  }, zfsTimeout(120_000));

  afterAll(async () => {
    if (pools !== undefined) await destroyPools(pools);
    if (hostDir !== undefined) rmSync(hostDir, { recursive: true, force: true });
  }, zfsTimeout(120_000));

  test(
    'check shows what the job selects on the pool',
    async () => {
      const { code, io } = await run(['check', '--config', configFile]);
      expect(code).toBe(0);
      expect(io.out).toContain(`  + ${src}/home\n  + ${src}/home/a\n`);
      expect(io.out).toContain(`  - ${src}/home/tmp (excluded by ${src}/home/tmp)\n`);
      expect(io.out).toContain(`  - ${src}/other\n`);
    },
    zfsTimeout(60_000),
  );

  test(
    'replicate --filesystems replicates the selection only',
    async () => {
      const { code, io } = await run([
        'replicate',
        '--from',
        `zfs:${src}`,
        '--to',
        `zfs:${dst}/backup`,
        '--initial',
        'all',
        '--filesystems',
        `${src}/home<,!${src}/home/tmp`,
      ]);
      expect(io.err).toBe('');
      expect(code).toBe(0);
      expect(datasetsBelow(`${dst}/backup`)).toEqual([
        `${dst}/backup`,
        `${dst}/backup/home`,
        `${dst}/backup/home/a`,
      ]);
      expect(snapshotsOf(`${dst}/backup/home/a`)).toEqual(['s1', 's2', 's3']);
    },
    zfsTimeout(60_000),
  );

  test(
    'replicate --filesystems X< replicates X, the root of --from, into the root of --to',
    async () => {
      // An empty root that was never mountable: the placeholder rule lets a full receive replace it.
      zfs('create', '-o', 'canmount=off', `${dst}/whole`);
      const args = [
        'replicate',
        '--from',
        `zfs:${src}/home`,
        '--to',
        `zfs:${dst}/whole`,
        '--initial',
        'all',
        '--filesystems',
        `${src}/home<,!${src}/home/tmp`,
        '--json',
      ];
      const first = await run(args);
      expect(first.io.err).toContain('done: 2 filesystems, 6 snapshots received');
      expect(first.code).toBe(0);
      const names = (JSON.parse(first.io.out) as Report).attempts[0]!.filesystems.map(
        (fs) => fs.info.name,
      );
      // Named below the last component of --from (the driver's names are dataset paths, D3).
      expect(names).toEqual(['home', 'home/a']);
      expect(datasetsBelow(`${dst}/whole`)).toEqual([`${dst}/whole`, `${dst}/whole/a`]);
      expect(snapshotsOf(`${dst}/whole`)).toEqual(['s1', 's2', 's3']);
      expect(snapshotsOf(`${dst}/whole/a`)).toEqual(['s1', 's2', 's3']);
      expect(zfs('get', '-H', '-o', 'value', 'guid', `${dst}/whole@s3`)).toBe(
        zfs('get', '-H', '-o', 'value', 'guid', `${src}/home@s3`),
      );

      // The next run is incremental into the root.
      zfs('snapshot', `${src}/home@s4`);
      const second = await run(args);
      expect(second.code).toBe(0);
      expect(snapshotsOf(`${dst}/whole`)).toEqual(['s1', 's2', 's3', 's4']);
      zfs('destroy', `${src}/home@s4`);
    },
    zfsTimeout(120_000),
  );

  test(
    'without the root in --filesystems, the root of --from is not sent (as before)',
    async () => {
      zfs('create', '-o', 'canmount=off', `${dst}/below`);
      const { code } = await run([
        'replicate',
        '--from',
        `zfs:${src}/home`,
        '--to',
        `zfs:${dst}/below`,
        '--filesystems',
        `${src}/home/a`,
      ]);
      expect(code).toBe(0);
      expect(datasetsBelow(`${dst}/below`)).toEqual([`${dst}/below`, `${dst}/below/a`]);
      expect(snapshotsOf(`${dst}/below`)).toEqual([]);
    },
    zfsTimeout(120_000),
  );

  test(
    'a root that may hold data of its own (mounted) is not replaced: a clear error, nothing changed',
    async () => {
      zfs('create', `${dst}/mounted`);
      const { code, io } = await run([
        'replicate',
        '--from',
        `zfs:${src}/home`,
        '--to',
        `zfs:${dst}/mounted`,
        '--filesystems',
        `${src}/home`,
      ]);
      expect(code).not.toBe(0);
      expect(io.err).toContain(
        `refusing to replace the receiver's root ${dst}/mounted with a full receive`,
      );
      expect(io.err).toContain('it is mounted');
      expect(snapshotsOf(`${dst}/mounted`)).toEqual([]);
    },
    zfsTimeout(120_000),
  );

  test(
    'prune --dry-run shows each verdict and its reason and destroys nothing',
    async () => {
      const { code, io } = await run(['prune', '--config', configFile, '--dry-run', 'home']);
      expect(code).toBe(0);
      expect(io.out).toContain(`sender  ${src}/home@s1  destroy  no rule keeps it\n`);
      expect(io.out).toContain(`sender  ${src}/home@s3  keep  newest common snapshot\n`);
      expect(io.out).toContain(`receiver  ${dst}/backup/home/a@s2  destroy  no rule keeps it\n`);
      expect(io.out).toContain(`receiver  ${dst}/backup/home/a@s3  keep  newest common snapshot\n`);
      expect(snapshotsOf(`${src}/home`)).toEqual(['s1', 's2', 's3']);
      expect(snapshotsOf(`${dst}/backup/home`)).toEqual(['s1', 's2', 's3']);
    },
    zfsTimeout(60_000),
  );

  test(
    'prune needs --dry-run or --destroy; --destroy carries the plan out',
    async () => {
      expect((await run(['prune', '--config', configFile, 'home'])).code).toBe(2);
      const { code, io } = await run(['prune', '--config', configFile, '--destroy', 'home']);
      expect(code).toBe(0);
      expect(io.out).toContain('sender: 4 destroyed\n');
      expect(snapshotsOf(`${src}/home`)).toEqual(['s3']);
      expect(snapshotsOf(`${dst}/backup/home/a`)).toEqual(['s3']);
      // Pruning again destroys nothing more.
      const again = await run(['prune', '--config', configFile, '--destroy', 'home']);
      expect(again.io.out).toContain('sender: 0 destroyed\nreceiver  ');
      expect(again.io.out).toContain('receiver: 0 destroyed\n');
    },
    zfsTimeout(60_000),
  );
});
