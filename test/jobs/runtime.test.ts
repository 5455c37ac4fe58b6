/**
 * The daemon's runtime over a simulated host (test/jobs/fakes.ts): the clock and the timers
 * move only when a test says so, the replication is the real driver and planner.
 */
import { MemoryPool } from '../../src/endpoints/memory/index.js';
import { parseConfig } from '../../src/jobs/config.js';
import { createMetrics } from '../../src/jobs/metrics.js';
import { JobRuntime, UnknownJobError } from '../../src/jobs/runtime.js';
import { until } from '../helpers/deferred.js';
import { fakeTimers, memoryDeps } from './fakes.js';

const config = (snapshotting = '{ type: periodic, interval: 1h, prefix: xrepl_ }', extra = '') =>
  parseConfig(`
jobs:
  - name: home
    type: push
    connect: zfs:backup/host
    filesystems: { "tank/home<": true, "tank/home/tmp": false }
    snapshotting: ${snapshotting}
    pruning:
      keep_sender: [ { type: not_replicated }, { type: last_n, count: 1 } ]
      keep_receiver: [ { type: last_n, count: 2 } ]
${extra}`);

const SNAP_JOB = `
  - name: local
    type: snap
    filesystems: { "tank/other": true }
    snapshotting: { type: manual, prefix: m_ }
    pruning: { keep: [ { type: last_n, count: 1 } ] }`;

function host() {
  const clock = fakeTimers();
  const pool = new MemoryPool({ seed: 'host', now: clock.now });
  for (const d of [
    'tank',
    'tank/home',
    'tank/home/a',
    'tank/home/tmp',
    'tank/other',
    'backup',
    'backup/host',
  ]) {
    pool.createDataset(d);
  }
  const deps = memoryDeps(pool, clock.now);
  return { clock, pool, deps };
}

function start(h: ReturnType<typeof host>, cfg = config()) {
  const holder: { runtime?: JobRuntime } = {};
  const metrics = createMetrics(h.clock.now, () => holder.runtime?.states() ?? new Map());
  const runtime = new JobRuntime({ config: cfg, deps: h.deps, timers: h.clock.timers, metrics });
  holder.runtime = runtime;
  runtime.start();
  return { runtime, metrics };
}

const job = (rt: JobRuntime, name = 'home') => rt.status().jobs.find((j) => j.name === name)!;
const settled = (rt: JobRuntime, cycles: number, name = 'home') =>
  until(() => job(rt, name).cycles === cycles && /^idle$|error$/.test(job(rt, name).state), 2000);
const names = (pool: MemoryPool, path: string) =>
  pool.get(path)?.snapshots.map((s) => s.name) ?? [];

describe('the daemon runtime', () => {
  test('a periodic job runs a cycle at start and one each interval: snapshot, replicate, prune both sides', async () => {
    const h = host();
    const { runtime } = start(h);
    h.clock.advance(0);
    await settled(runtime, 1);
    expect(job(runtime).state).toBe('idle');
    expect(names(h.pool, 'backup/host/home/a')).toEqual(['xrepl_20261203T100000Z']);
    expect(names(h.pool, 'tank/home/tmp')).toEqual([]);
    expect(h.pool.get('backup/host/home/tmp')).toBeUndefined();

    for (let i = 2; i <= 4; i++) {
      h.clock.advance(3_600_000);
      await settled(runtime, i);
    }
    const s = job(runtime);
    expect(s.lastError).toBeNull();
    // Receiver keeps 2, sender keeps the newest (also the newest common one).
    expect(names(h.pool, 'backup/host/home/a')).toEqual([
      'xrepl_20261203T120000Z',
      'xrepl_20261203T130000Z',
    ]);
    expect(names(h.pool, 'tank/home/a')).toEqual(['xrepl_20261203T130000Z']);
    // The last run was incremental.
    const steps = s.run?.attempts.at(-1)?.filesystems.flatMap((f) => f.steps) ?? [];
    expect(steps.length).toBe(2);
    for (const step of steps) expect(step.info.from).toBe('xrepl_20261203T120000Z');
    expect(s.lastPrune.receiver?.destroyedNames).toEqual([
      'backup/host/home@xrepl_20261203T110000Z',
      'backup/host/home/a@xrepl_20261203T110000Z',
    ]);
    expect(s.datasets.map((d) => [d.dataset, d.behindSince])).toEqual([
      ['tank/home', null],
      ['tank/home/a', null],
    ]);
    await runtime.stop();
    expect(h.clock.pending()).toBe(0);
  });

  test('a push job selecting the pool root (tank<) replicates tank itself into the connect root', async () => {
    const h = host();
    const cfg = parseConfig(`
jobs:
  - name: pool
    type: push
    connect: zfs:backup/host
    filesystems: { "tank<": true, "tank/home/tmp": false, "tank/other": false }
    snapshotting: { type: periodic, interval: 1h, prefix: xrepl_ }
    pruning:
      keep_sender: [ { type: not_replicated }, { type: last_n, count: 1 } ]
      keep_receiver: [ { type: last_n, count: 1 } ]
`);
    const { runtime } = start(h, cfg);
    h.clock.advance(0);
    await settled(runtime, 1, 'pool');
    expect(job(runtime, 'pool').lastError).toBeNull();
    expect(names(h.pool, 'backup/host')).toEqual(['xrepl_20261203T100000Z']);
    expect(names(h.pool, 'backup/host/home/a')).toEqual(['xrepl_20261203T100000Z']);
    expect(h.pool.get('backup/host/other')).toBeUndefined();
    expect(h.pool.get('backup/host/home/tmp')).toBeUndefined();
    expect(h.pool.get('backup/host/tank')).toBeUndefined();

    h.clock.advance(3_600_000);
    await settled(runtime, 2, 'pool');
    const s = job(runtime, 'pool');
    expect(s.lastError).toBeNull();
    // Named by their datasets (the pool is the root's label); the root's second replication
    // is incremental, and it is pruned like the others.
    const fss = s.run?.attempts.at(-1)?.filesystems ?? [];
    expect(fss.map((f) => f.info.name)).toEqual(['tank', 'tank/home', 'tank/home/a']);
    const root = fss.find((f) => f.info.name === 'tank');
    expect(root?.steps.map((st) => `${st.info.from}->${st.info.to}`)).toEqual([
      'xrepl_20261203T100000Z->xrepl_20261203T110000Z',
    ]);
    expect(names(h.pool, 'backup/host')).toEqual(['xrepl_20261203T110000Z']);
    expect(names(h.pool, 'tank')).toEqual(['xrepl_20261203T110000Z']);
    // Metrics and lag map the names to the same datasets (no `tank/tank`).
    expect(s.datasets.map((d) => [d.dataset, d.lastSuccess !== null])).toEqual([
      ['tank', true],
      ['tank/home', true],
      ['tank/home/a', true],
    ]);
    await runtime.stop();
  });

  test('a failed replication leaves replicating-error with its error; the next tick recovers', async () => {
    const h = host();
    let failures = 1;
    const open = h.deps.openReceiver;
    h.deps.openReceiver = async (spec) => {
      if (failures-- > 0) throw new Error('receiver unreachable');
      return open(spec);
    };
    const { runtime, metrics } = start(h);
    h.clock.advance(0);
    await settled(runtime, 1);
    expect(job(runtime).state).toBe('replicating-error');
    expect(job(runtime).lastError).toMatchObject({
      during: 'replicating',
      err: 'receiver unreachable',
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'xrepl_job_errors_total{job="home",during="replicating",class="permanent"} 1',
    );
    expect(text).toContain('xrepl_job_state{job="home",state="replicating-error"} 1');
    h.clock.advance(3_600_000);
    await settled(runtime, 2);
    expect(job(runtime).state).toBe('idle');
    expect(job(runtime).lastError).toBeNull();
    await runtime.stop();
  });

  test('lag is the age of the oldest snapshot the receiver lacks, and grows while replication fails', async () => {
    const h = host();
    const { runtime, metrics } = start(h);
    h.clock.advance(0);
    await settled(runtime, 1);
    const lag = async () =>
      /xrepl_replication_lag_seconds\{job="home",dataset="tank\/home\/a"\} (\d+)/.exec(
        await metrics.registry.metrics(),
      )?.[1];
    expect(await lag()).toBe('0');
    h.deps.openReceiver = async () => {
      throw new Error('receiver unreachable');
    };
    h.clock.advance(3_600_000); // snapshot at 11:00, not replicated
    await settled(runtime, 2);
    expect(job(runtime).state).toBe('replicating-error');
    // The lag is computed when the receiver answers again; until then it stays as it was.
    const open = memoryDeps(h.pool, h.clock.now).openReceiver;
    let calls = 0;
    h.deps.openReceiver = async (spec) =>
      calls++ === 0 ? Promise.reject(new Error('still down')) : open(spec);
    h.clock.advance(3_600_000); // 12:00: snapshot, replication fails, lag computed after it
    await settled(runtime, 3);
    expect(await lag()).toBe('3600');
    h.clock.advance(1800_000); // 12:30, no tick: the lag grows with the clock
    expect(await lag()).toBe('5400');
    await runtime.stop();
  });

  test('wakeup starts a cycle of a manual job; reset clears an error; an unknown job is refused', async () => {
    const h = host();
    const cfg = config('{ type: manual, prefix: xrepl_ }', SNAP_JOB);
    const { runtime } = start(h, cfg);
    h.clock.advance(10_000_000);
    expect(job(runtime).cycles).toBe(0);
    runtime.wakeup('local');
    await settled(runtime, 1, 'local');
    h.clock.advance(1000);
    runtime.wakeup('local');
    await settled(runtime, 2, 'local');
    expect(names(h.pool, 'tank/other')).toEqual(['m_20261203T124641Z']);
    h.deps.openReceiver = async () => {
      throw new Error('down');
    };
    runtime.wakeup('home');
    await settled(runtime, 1);
    expect(job(runtime).state).toBe('replicating-error');
    runtime.reset('home');
    expect(job(runtime)).toMatchObject({ state: 'idle', lastError: null });
    expect(() => runtime.wakeup('nope')).toThrow(UnknownJobError);
    await runtime.stop();
  });

  test('reload keeps the jobs that stay (with their history), drops the others, starts new ones', async () => {
    const h = host();
    const { runtime } = start(h, config('{ type: manual, prefix: xrepl_ }', SNAP_JOB));
    runtime.wakeup('local');
    await settled(runtime, 1, 'local');
    runtime.reload(
      parseConfig(`
jobs:${SNAP_JOB}
  - name: fresh
    type: snap
    filesystems: { "tank/home": true }
    snapshotting: { type: periodic, interval: 1h, prefix: f_ }
    pruning: { keep: [] }`),
    );
    expect(runtime.status().jobs.map((j) => j.name)).toEqual(['local', 'fresh']);
    expect(job(runtime, 'local').cycles).toBe(1);
    h.clock.advance(0);
    await settled(runtime, 1, 'fresh');
    await runtime.stop();
  });

  test('a pull job replicates on its interval from connect into root_fs and prunes the receiver', async () => {
    const h = host();
    h.pool.snapshot('tank/home/a', 'm1');
    h.pool.snapshot('tank/home/a', 'm2');
    h.pool.snapshot('tank/home/tmp', 'm2');
    const { runtime } = start(
      h,
      parseConfig(`
jobs:
  - name: fetch
    type: pull
    connect: zfs:tank/home
    root_fs: backup/host
    interval: 1h
    replication: { initial: all }
    pruning:
      keep_sender: []
      keep_receiver: [ { type: last_n, count: 1 } ]`),
    );
    h.clock.advance(0);
    await settled(runtime, 1, 'fetch');
    const s = job(runtime, 'fetch');
    expect(s).toMatchObject({ type: 'pull', state: 'idle', lastError: null, lastSnapshot: null });
    expect(names(h.pool, 'tank/home/a')).toEqual(['m1', 'm2']);
    expect(names(h.pool, 'backup/host/a')).toEqual(['m2']);
    expect(s.datasets.find((d) => d.dataset === 'backup/host/a')?.behindSince).toBeNull();
    await runtime.stop();
  });

  test('stop aborts the work in progress and waits for it', async () => {
    const h = host();
    let seen: AbortSignal | undefined;
    h.deps.zfs.snapshot = (_d, _n, signal) =>
      new Promise((_, reject) => {
        seen = signal;
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    const { runtime } = start(h);
    h.clock.advance(0);
    await until(() => seen !== undefined);
    expect(job(runtime).state).toBe('snapshotting');
    await runtime.stop();
    expect(seen?.aborted).toBe(true);
    expect(h.clock.pending()).toBe(0);
  });
});
