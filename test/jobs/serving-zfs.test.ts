/**
 * A daemon serving a sink job on real ZFS (zfs-fuse here), and a push job of another runtime
 * replicating to it over gRPC and pruning it through the endpoint (the sink allows it).
 */
import { openEndpoint } from '../../src/cli/endpoints.js';
import { serveJob } from '../../src/cli/serve-job.js';
import { parseConfig } from '../../src/jobs/config.js';
import type { JobDeps } from '../../src/jobs/operations.js';
import { JobRuntime } from '../../src/jobs/runtime.js';
import { localZfs } from '../../src/jobs/zfs-local.js';
import {
  createPools,
  describeZfs,
  destroyPools,
  zfs,
  zfsTimeout,
  type TestPools,
} from '../helpers/zfs.js';
import { fakeTimers } from './fakes.js';
import { snapshotsOf } from './zfs-names.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Polls `predicate` until it holds, failing after `ms` (zfs commands take real time). */
async function eventually(predicate: () => boolean, ms = zfsTimeout(90_000)): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeZfs('sink jobs in the daemon on real ZFS', () => {
  let pools: TestPools;
  let src: string;
  let dst: string;
  const running: JobRuntime[] = [];

  beforeAll(async () => {
    pools = await createPools(['src', 'dst']);
    src = pools.name.src!;
    dst = pools.name.dst!;
    for (const fs of ['home', 'home/a']) zfs('create', `${src}/${fs}`);
    zfs('create', `${dst}/backup`);
  }, zfsTimeout(120_000));

  afterAll(async () => {
    for (const r of running.splice(0)) await r.stop();
    if (pools !== undefined) await destroyPools(pools);
  }, zfsTimeout(120_000));

  test(
    'push to a sink daemon, prune the sink through the endpoint',
    async () => {
      const clock = fakeTimers(Date.UTC(2026, 11, 3, 10));
      const deps: JobDeps = {
        zfs: localZfs(),
        openSender: (spec, options = {}) => openEndpoint(spec, 'sender', undefined, {}, options),
        openReceiver: (spec, options = {}) => openEndpoint(spec, 'receiver', undefined, options),
        now: clock.now,
        logger: silent,
        serveJob: (job) => serveJob(job, silent),
      };
      const start = (yaml: string): JobRuntime => {
        const runtime = new JobRuntime({ config: parseConfig(yaml), deps, timers: clock.timers });
        running.push(runtime);
        runtime.start();
        return runtime;
      };
      const sink = start(`
jobs:
  - { name: in, type: sink, listen: "127.0.0.1:0", root_fs: ${dst}/backup, allow_prune: true }
`);
      await sink.serving();
      const url = sink.status().jobs[0]?.serving?.url;
      expect(url).toMatch(/^grpc:\/\/127\.0\.0\.1:\d+$/);
      const push = start(`
jobs:
  - name: home
    type: push
    connect: ${url}
    filesystems: { "${src}/home<": true }
    snapshotting: { type: manual, prefix: xrepl_ }
    pruning:
      keep_sender: []
      keep_receiver: [ { type: last_n, count: 1 } ]
`);
      const job = () => push.status().jobs[0]!;
      for (let cycle = 1; cycle <= 3; cycle++) {
        push.wakeup('home');
        await eventually(() => job().cycles === cycle && /^idle$|error$/.test(job().state));
        expect(job().lastError).toBeNull();
        clock.advance(60_000);
      }
      expect(snapshotsOf(`${src}/home/a`)).toEqual([
        'xrepl_20261203T100000Z',
        'xrepl_20261203T100100Z',
        'xrepl_20261203T100200Z',
      ]);
      expect(snapshotsOf(`${dst}/backup/home/a`)).toEqual(['xrepl_20261203T100200Z']);
      expect(job().lastPrune.receiver).toMatchObject({ destroyed: 2, datasets: 2 });
    },
    zfsTimeout(180_000),
  );
});
