/**
 * D13 on real ZFS (zfs-fuse here): a `zfs destroy` of a planned step's `to` snapshot after
 * its filesystem was planned. The send finds it gone (zfs: "dataset does not exist"), which
 * the backend reports as a stale plan; the filesystem re-plans without it and finishes, and
 * the other filesystems are not disturbed.
 */
import { zfsReceiver, zfsSender } from '../../../src/endpoints/zfs/index.js';
import { createPlanner } from '../../../src/planner/index.js';
import { replicate, type FS, type Planner } from '../../../src/index.js';
import { config } from '../../helpers/driver.js';
import {
  createPools,
  describeZfs,
  destroyPools,
  zfs,
  zfsTimeout,
  type TestPools,
} from '../../helpers/zfs.js';

const never = new AbortController().signal;

/** `inner`, with `after(name)` run once right after the first planning of filesystem `name`. */
function afterPlanning(inner: Planner, name: string, after: () => void): Planner {
  let done = false;
  const wrap = (fs: FS): FS => ({
    equalToPreviousAttempt: (other) => fs.equalToPreviousAttempt(other),
    correspondenceKey: () => fs.reportInfo().name,
    reportInfo: () => fs.reportInfo(),
    planFS: async (signal) => {
      const steps = await fs.planFS(signal);
      if (!done && fs.reportInfo().name === name) {
        done = true;
        after();
      }
      return steps;
    },
  });
  return {
    plan: async (signal) => (await inner.plan(signal)).map(wrap),
    waitForConnectivity: (signal) => inner.waitForConnectivity(signal),
  };
}

describeZfs('D13 on real ZFS', () => {
  let pools: TestPools;
  let src: string;
  let dst: string;

  beforeAll(async () => {
    pools = await createPools(['src', 'dst'], 128);
    src = `${pools.name.src}/data`;
    dst = `${pools.name.dst}/backup`;
    for (const fs of ['', '/a', '/b', '/c']) zfs('create', `${src}${fs}`);
    zfs('create', dst);
    zfs('snapshot', '-r', `${src}@s1`);
    zfs('snapshot', '-r', `${src}@s2`);
  });

  afterAll(async () => {
    if (pools !== undefined) await destroyPools(pools);
  });

  test(
    'zfs destroy of the `to` snapshot after planning: the filesystem re-plans and finishes',
    async () => {
      const sender = zfsSender({ root: src });
      const receiver = zfsReceiver({ root: dst });
      const planner = afterPlanning(createPlanner(sender, receiver, { initial: 'all' }), 'a', () =>
        zfs('destroy', `${src}/a@s1`),
      );
      const report = await replicate(
        config({ replanLimit: 3, stepQueueConcurrency: 2 }),
        planner,
      ).wait();
      expect(report.state).toBe('done');
      expect(report.attempts).toHaveLength(1);
      const fss = Object.fromEntries(report.attempts[0]!.filesystems.map((f) => [f.info.name, f]));
      expect(fss.a).toMatchObject({ state: 'done', replans: 1 });
      expect(fss.a!.retryError!.err).toMatch(/a@s1.*does not exist/);
      expect(fss.a!.steps.map((s) => s.info.to)).toEqual(['s2']);
      for (const name of ['b', 'c']) {
        expect(fss[name]).toMatchObject({ state: 'done', replans: 0 });
        expect(fss[name]!.steps.map((s) => s.info.to)).toEqual(['s1', 's2']);
      }
      const guids = async (
        endpoint: { listFilesystemVersions: typeof sender.listFilesystemVersions },
        fs: string,
      ) =>
        (await endpoint.listFilesystemVersions(fs, never))
          .filter((v) => v.type === 'snapshot') // OpenZFS: the sender also lists its cursor bookmark
          .map((v) => [v.name, v.guid]);
      for (const fs of ['a', 'b', 'c'])
        expect(await guids(receiver, fs)).toEqual(await guids(sender, fs));
    },
    zfsTimeout(120_000),
  );
});
