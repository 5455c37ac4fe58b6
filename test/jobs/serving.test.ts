/**
 * Sink and source jobs run by the daemon (JOBS.md "The config file"): a daemon serving a sink
 * and another pushing to it over gRPC, pruning it through the endpoint; a source and a pull
 * job; reloads that restart, keep or stop a server. Simulated pools, the real transport on
 * loopback, the clock moved by hand.
 */
import type { Backend } from '../../src/cli/serve.js';
import { serveJob } from '../../src/cli/serve-job.js';
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import { parseConfig, type Config, type SinkJob } from '../../src/jobs/config.js';
import type { JobDeps } from '../../src/jobs/operations.js';
import { JobRuntime, NoCycleError } from '../../src/jobs/runtime.js';
import { selectedSender } from '../../src/jobs/serving.js';
import { sourceSide } from '../../src/jobs/sides.js';
import { grpcReceiver, grpcSender, startServer } from '../../src/transport/index.js';
import { until } from '../helpers/deferred.js';
import { fakeTimers, memoryDeps } from './fakes.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A simulated host: its pool, deps that serve sink and source jobs from it and dial grpc://. */
function host(seed: string, datasets: string[], clock = fakeTimers()) {
  const pool = new MemoryPool({ seed, now: clock.now });
  for (const d of datasets) pool.createDataset(d);
  const base = memoryDeps(pool, clock.now);
  const backend = (sink: SinkJob): Backend => ({
    sender: () => memorySender(pool),
    receiver: (root, identity) =>
      memoryReceiver(pool, identity === undefined ? (root ?? sink.root_fs) : `${root}/${identity}`),
    defaultRoot: sink.root_fs,
    close: () => undefined,
  });
  const deps: JobDeps = {
    ...base,
    openSender: async (spec) => {
      if (spec.startsWith('grpc://')) {
        const sender = grpcSender(spec);
        return { endpoint: sender, close: async () => sender.close() };
      }
      return base.openSender(spec);
    },
    openReceiver: async (spec) => {
      if (spec.startsWith('grpc://')) {
        const receiver = grpcReceiver(spec);
        return { endpoint: receiver, close: async () => receiver.close() };
      }
      return base.openReceiver(spec);
    },
    serveJob: async (job) => {
      if (job.type === 'sink') return serveJob(job, silent, backend);
      // A source: the simulated pool rooted at the selection's pool, as zfsSender would be.
      const { root, filter } = sourceSide(job);
      const server = await startServer({
        listen: job.listen,
        role: 'sender',
        endpoint: selectedSender(memorySender(pool, root), filter),
      });
      return { url: server.url, close: () => server.close() };
    },
  };
  return { clock, pool, deps };
}

const names = (pool: MemoryPool, path: string) =>
  pool.get(path)?.snapshots.map((s) => s.name) ?? [];

const sinkConfig = (root = 'backup/host1', extra = '') =>
  parseConfig(`
jobs:
  - name: in
    type: sink
    listen: 127.0.0.1:0
    root_fs: ${root}
    allow_prune: true${extra}
`);

describe('sink and source jobs in the daemon', () => {
  const running: JobRuntime[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
  });

  function start(config: Config, deps: JobDeps, clock: ReturnType<typeof fakeTimers>) {
    const runtime = new JobRuntime({ config, deps, timers: clock.timers });
    running.push(runtime);
    runtime.start();
    return runtime;
  }
  const status = (rt: JobRuntime, name: string) => rt.status().jobs.find((j) => j.name === name)!;

  test('a push job replicates to a sink daemon and prunes it through the endpoint', async () => {
    const backup = host('backup', ['backup', 'backup/host1']);
    const sink = start(sinkConfig(), backup.deps, backup.clock);
    await sink.serving();
    const url = status(sink, 'in').serving?.url;
    expect(url).toMatch(/^grpc:\/\/127\.0\.0\.1:\d+$/);
    expect(status(sink, 'in')).toMatchObject({ type: 'sink', state: 'idle', cycles: 0 });
    expect(() => sink.wakeup('in')).toThrow(NoCycleError);

    const laptop = host('laptop', ['tank', 'tank/home', 'tank/home/a']);
    const push = start(
      parseConfig(`
jobs:
  - name: home
    type: push
    connect: ${url}
    filesystems: { "tank/home<": true }
    snapshotting: { type: periodic, interval: 1h, prefix: xrepl_ }
    pruning:
      keep_sender: [ { type: not_replicated }, { type: last_n, count: 1 } ]
      keep_receiver: [ { type: last_n, count: 2 } ]
`),
      laptop.deps,
      laptop.clock,
    );
    for (let cycle = 1; cycle <= 4; cycle++) {
      laptop.clock.advance(cycle === 1 ? 0 : 3_600_000);
      await until(() => {
        const s = status(push, 'home');
        return s.cycles === cycle && s.state === 'idle';
      }, 5000);
    }
    expect(status(push, 'home').lastError).toBeNull();
    expect(names(backup.pool, 'backup/host1/home/a')).toEqual([
      'xrepl_20261203T120000Z',
      'xrepl_20261203T130000Z',
    ]);
    expect(names(laptop.pool, 'tank/home/a')).toEqual(['xrepl_20261203T130000Z']);
    expect(status(push, 'home').lastPrune.receiver).toMatchObject({ destroyed: 2 });
  });

  test('without allow_prune the sink refuses, and the push job says so in its error', async () => {
    const backup = host('backup', ['backup', 'backup/host1']);
    const sink = start(
      parseConfig(
        'jobs:\n  - { name: in, type: sink, listen: 127.0.0.1:0, root_fs: backup/host1 }\n',
      ),
      backup.deps,
      backup.clock,
    );
    await sink.serving();
    const laptop = host('laptop', ['tank', 'tank/home']);
    const push = start(
      parseConfig(`
jobs:
  - name: home
    type: push
    connect: ${status(sink, 'in').serving?.url}
    filesystems: { "tank/home<": true }
    snapshotting: { type: manual, prefix: x_ }
    pruning: { keep_sender: [], keep_receiver: [ { type: last_n, count: 1 } ] }
`),
      laptop.deps,
      laptop.clock,
    );
    push.wakeup('home');
    await until(
      () => status(push, 'home').cycles === 1 && status(push, 'home').state === 'idle',
      5000,
    );
    laptop.clock.advance(60_000);
    push.wakeup('home'); // two snapshots now: the older one is for the receiver's pruning
    await until(() => /error$/.test(status(push, 'home').state), 5000);
    expect(status(push, 'home').state).toBe('pruning-receiver-error');
    expect(status(push, 'home').lastError?.err).toMatch(/does not let clients destroy snapshots/);
    expect(names(backup.pool, 'backup/host1/home')).toHaveLength(2);
  });

  test('a pull job replicates what a source daemon serves, only its selection', async () => {
    const data = host('data', ['tank', 'tank/home', 'tank/home/a', 'tank/vm']);
    data.pool.snapshot('tank/home', 's1');
    data.pool.snapshot('tank/home/a', 's1');
    data.pool.snapshot('tank/vm', 's1');
    const source = start(
      parseConfig(`
jobs:
  - name: out
    type: source
    listen: 127.0.0.1:0
    filesystems: { "tank/home<": true }
`),
      data.deps,
      data.clock,
    );
    await source.serving();
    expect(() => source.wakeup('out')).toThrow(NoCycleError);
    const backup = host('backup', ['backup', 'backup/data']);
    const pull = start(
      parseConfig(`
jobs:
  - name: fetch
    type: pull
    connect: ${status(source, 'out').serving?.url}
    root_fs: backup/data
    interval: 1h
    pruning: { keep_sender: [], keep_receiver: [] }
`),
      backup.deps,
      backup.clock,
    );
    backup.clock.advance(0);
    await until(
      () => status(pull, 'fetch').cycles === 1 && status(pull, 'fetch').state === 'idle',
      5000,
    );
    expect(status(pull, 'fetch').lastError).toBeNull();
    expect(backup.pool.paths().filter((p) => p.startsWith('backup/data/'))).toEqual([
      'backup/data/home',
      'backup/data/home/a',
    ]);
  });

  test('a reload restarts a changed server, keeps an unchanged one, stops a removed one', async () => {
    const backup = host('backup', ['backup', 'backup/host1', 'backup/host2']);
    const sink = start(sinkConfig(), backup.deps, backup.clock);
    await sink.serving();
    const first = status(sink, 'in').serving?.url;
    sink.reload(sinkConfig());
    await sink.serving();
    expect(status(sink, 'in').serving?.url).toBe(first);

    sink.reload(sinkConfig('backup/host2'));
    await sink.serving();
    const second = status(sink, 'in').serving?.url;
    expect(second).not.toBe(first);
    const old = grpcReceiver(first as string, { callTimeoutMs: 2000 });
    await expect(old.listFilesystems(AbortSignal.timeout(5000))).rejects.toThrow();
    old.close();

    sink.reload(
      parseConfig(`
jobs:
  - name: local
    type: snap
    filesystems: { "backup/host1": true }
    snapshotting: { type: manual, prefix: m_ }
    pruning: { keep: [] }
`),
    );
    await sink.serving();
    expect(sink.status().jobs.map((j) => j.name)).toEqual(['local']);
    const gone = grpcReceiver(second as string, { callTimeoutMs: 2000 });
    await expect(gone.listFilesystems(AbortSignal.timeout(5000))).rejects.toThrow();
    gone.close();
  });

  test('a sink that cannot listen says why in its status', async () => {
    const backup = host('backup', ['backup']);
    const sink = start(
      parseConfig(`
jobs:
  - name: in
    type: sink
    listen: 192.0.2.1:7000
    root_fs: backup
`),
      backup.deps,
      backup.clock,
    );
    await sink.serving();
    expect(status(sink, 'in').serving).toEqual({
      url: null,
      error: expect.stringMatching(/refusing to listen on 192\.0\.2\.1:7000 without TLS/),
    });
  });
});

test('a source shows only its selection and refuses the rest', async () => {
  const pool = new MemoryPool({ seed: 'sel' });
  for (const d of ['tank', 'tank/home', 'tank/vm']) pool.createDataset(d);
  pool.snapshot('tank/vm', 's1');
  const sender = selectedSender(memorySender(pool, 'tank'), (p) => p.startsWith('home'));
  const signal = new AbortController().signal;
  expect((await sender.listFilesystems(signal)).map((f) => f.path)).toEqual(['home']);
  await expect(sender.listFilesystemVersions('vm', signal)).rejects.toThrow(
    'filesystem "vm" is not served by this source',
  );
});
