/** A job's replication section reaches the endpoints and the driver as replicate's flags do. */
import { MemoryPool } from '../../src/endpoints/memory/index.js';
import { parseConfig, type PushJob } from '../../src/jobs/config.js';
import { replicateJob, type JobDeps } from '../../src/jobs/operations.js';
import { driverConfigOf, endpointOptionsOf } from '../../src/jobs/replication-config.js';
import { checkJob, JobSetupError } from '../../src/jobs/sides.js';
import { fakeTimers, memoryDeps } from './fakes.js';

const push = (replication: string, connect = 'zfs:backup/host'): PushJob =>
  parseConfig(`
jobs:
  - name: home
    type: push
    connect: ${connect}
    filesystems: { "tank/home<": true }
    snapshotting: { type: manual, prefix: x_ }
    replication: ${replication}
    pruning: { keep_sender: [], keep_receiver: [] }
`).jobs[0] as PushJob;

describe('replication options of a job', () => {
  test('send and recv options become the zfs endpoint options, named after the job', () => {
    const job = push(
      '{ send: { raw: true, large_blocks: false, backup_properties: true }, recv: { set: { canmount: "off" }, exclude: [mountpoint], trust_stream_properties: true } }',
    );
    expect(endpointOptionsOf(job.name, job.replication)).toEqual({
      sender: { job: 'home', send: { raw: true, largeBlocks: false, backupProperties: true } },
      receiver: {
        job: 'home',
        recvSet: { canmount: 'off' },
        recvExclude: ['mountpoint'],
        trustStreamProperties: true,
      },
    });
  });

  test('the self-healing settings reach the driver config, with the CLI defaults', () => {
    expect(driverConfigOf(push('{}').replication)).toEqual({
      stepQueueConcurrency: 1,
      maxAttempts: 3,
      reconnectHardFailTimeoutMs: 600_000,
      replanLimit: 3,
      filesystemRetries: 2,
      stepStallTimeoutMs: 600_000,
    });
    expect(
      driverConfigOf(push('{ replan_limit: 0, fs_retries: 5, stall_timeout: 30s }').replication),
    ).toMatchObject({ replanLimit: 0, filesystemRetries: 5, stepStallTimeoutMs: 30_000 });
  });

  test('a run opens its endpoints with the options', async () => {
    const clock = fakeTimers();
    const pool = new MemoryPool({ seed: 'opts', now: clock.now });
    for (const d of ['tank', 'tank/home', 'backup', 'backup/host']) pool.createDataset(d);
    pool.snapshot('tank/home', 's1');
    const base = memoryDeps(pool, clock.now);
    const seen: unknown[] = [];
    const deps: JobDeps = {
      ...base,
      openSender: (spec, options) => (seen.push(['sender', options]), base.openSender(spec)),
      openReceiver: (spec, options) => (seen.push(['receiver', options]), base.openReceiver(spec)),
    };
    const job = push(
      '{ bandwidth: 1MiB, send: { compressed: false }, recv: { exclude: [mountpoint] } }',
    );
    const report = await replicateJob(job, deps, new AbortController().signal, () => {});
    expect(report.state).toBe('done');
    expect(pool.get('backup/host/home')?.snapshots.map((s) => s.name)).toEqual(['s1']);
    expect(seen).toEqual([
      ['sender', { job: 'home', send: { compressed: false } }],
      ['receiver', { job: 'home', recvExclude: ['mountpoint'] }],
    ]);
  });

  test('zfs options for a side that is not zfs: are refused, naming the config keys', () => {
    expect(() =>
      checkJob(push('{ recv: { exclude: [mountpoint] } }', 'grpc://127.0.0.1:7000')),
    ).toThrow(
      new JobSetupError(
        'job home: replication.recv apply to a zfs: receiver only, not to grpc://127.0.0.1:7000 ' +
          '(a server decides for itself: set them where it runs)',
      ),
    );
    expect(() => checkJob(push('{ send: { raw: true } }', 'grpc://127.0.0.1:7000'))).not.toThrow();
  });
});
