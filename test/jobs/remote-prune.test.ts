/**
 * A push job prunes a receiver on another host through the endpoint (JOBS.md "Pruning"):
 * the job plans over the receiver's listing, the server destroys below the client's root
 * only when it allows clients to prune, and keeps held snapshots and the newest one.
 */
import { withoutPrune } from '../../src/cli/serve.js';
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import { guardDestroy } from '../../src/endpoints/prune-guard.js';
import type { Receiver } from '../../src/endpoints/types.js';
import { parseConfig, type PushJob } from '../../src/jobs/config.js';
import { pruneJob, replicateJob, type JobDeps } from '../../src/jobs/operations.js';
import { grpcReceiver, startServer, type RunningServer } from '../../src/transport/index.js';
import { fakeTimers, memoryZfs } from './fakes.js';

const job = (keepReceiver: string): PushJob =>
  parseConfig(`
jobs:
  - name: home
    type: push
    connect: grpc://127.0.0.1:1
    filesystems: { "tank/home<": true }
    snapshotting: { type: manual, prefix: x_ }
    replication: { initial: all }
    pruning: { keep_sender: [], keep_receiver: ${keepReceiver} }
`).jobs[0] as PushJob;

const names = (pool: MemoryPool, path: string) =>
  pool.get(path)?.snapshots.map((s) => s.name) ?? [];

async function setup(allowPrune: boolean) {
  const clock = fakeTimers();
  const local = new MemoryPool({ seed: 'local', now: clock.now });
  for (const d of ['tank', 'tank/home', 'tank/home/a']) local.createDataset(d);
  for (const s of ['x_1', 'x_2', 'x_3', 'x_4']) {
    local.snapshot('tank/home', s);
    local.snapshot('tank/home/a', s);
  }
  const remote = new MemoryPool({ seed: 'remote' });
  remote.createDataset('backup/host1');
  const served: Receiver = memoryReceiver(remote, 'backup/host1');
  const server: RunningServer = await startServer({
    listen: '127.0.0.1:0',
    role: 'receiver',
    endpoint: allowPrune ? served : withoutPrune(served),
  });
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const deps: JobDeps = {
    zfs: memoryZfs(local, clock.now),
    openSender: async (spec) => ({
      endpoint: memorySender(local, spec.slice('zfs:'.length)),
      close: async () => {},
    }),
    openReceiver: async () => {
      const receiver = grpcReceiver(server.url);
      return { endpoint: receiver, close: async () => receiver.close() };
    },
    now: clock.now,
    logger: silent,
  };
  return { local, remote, server, deps };
}

describe('pruning a receiver on another host', () => {
  let server: RunningServer | undefined;
  afterEach(async () => server?.close());

  test('the rules are applied through the endpoint; the newest common snapshot stays', async () => {
    const h = await setup(true);
    server = h.server;
    const push = job('[ { type: last_n, count: 2, regex: "^nothing" } ]');
    const signal = new AbortController().signal;
    await replicateJob(push, h.deps, signal, () => {});
    expect(names(h.remote, 'backup/host1/home/a')).toEqual(['x_1', 'x_2', 'x_3', 'x_4']);

    const dry = await pruneJob(push, 'receiver', h.deps, signal, true);
    expect(dry.destroyed).toBe(0);
    expect(names(h.remote, 'backup/host1/home/a')).toHaveLength(4);
    expect(dry.datasets.map((d) => d.dataset)).toEqual([
      `${push.connect}/home`,
      `${push.connect}/home/a`,
    ]);

    const result = await pruneJob(push, 'receiver', h.deps, signal);
    expect(result.destroyed).toBe(6);
    expect(names(h.remote, 'backup/host1/home')).toEqual(['x_4']);
    expect(names(h.remote, 'backup/host1/home/a')).toEqual(['x_4']);
    expect(result.datasets[0]?.verdicts.at(-1)).toEqual({
      name: 'x_4',
      destroy: false,
      reason: 'newest common snapshot',
    });
    // Pruning again destroys nothing more.
    expect((await pruneJob(push, 'receiver', h.deps, signal)).destroyed).toBe(0);
  });

  test('a server that does not allow it refuses, and nothing is destroyed', async () => {
    const h = await setup(false);
    server = h.server;
    const push = job('[]');
    const signal = new AbortController().signal;
    await replicateJob(push, h.deps, signal, () => {});
    await expect(
      pruneJob(job('[ { type: last_n, count: 1 } ]'), 'receiver', h.deps, signal),
    ).rejects.toThrow(
      /does not let clients destroy snapshots: start it with xrepl serve --allow-prune/,
    );
    expect(names(h.remote, 'backup/host1/home')).toHaveLength(4);
  });
});

describe('what a receiver keeps whatever a client asks', () => {
  const snaps = [
    { name: 'a', guid: '1', createTxg: '10', holds: 0 },
    { name: 'b', guid: '2', createTxg: '20', holds: 1 },
    { name: 'c', guid: '3', createTxg: '30', holds: 0 },
    { name: 'd', guid: '4', createTxg: '40', holds: 0 },
  ];
  test('held, replaced, missing and newest snapshots stay; the rest go', () => {
    expect(
      guardDestroy(
        {
          filesystem: 'home',
          snapshots: [
            { name: 'a', guid: '1' },
            { name: 'b', guid: '2' },
            { name: 'c', guid: '99' },
            { name: 'd', guid: '4' },
            { name: 'e', guid: '5' },
          ],
          dryRun: false,
        },
        snaps,
      ),
    ).toEqual({
      destroyed: ['a'],
      kept: [
        { name: 'b', reason: 'held (1)' },
        { name: 'c', reason: 'replaced since it was listed (another guid)' },
        { name: 'd', reason: 'the newest snapshot (the next incremental starts there)' },
        { name: 'e', reason: 'no such snapshot' },
      ],
    });
  });

  test('a path outside the client root is refused before anything is destroyed', async () => {
    const pool = new MemoryPool({ seed: 'confined' });
    pool.createDataset('backup/host1');
    pool.createDataset('backup/host2');
    pool.snapshot('backup/host2', 'old');
    pool.snapshot('backup/host2', 'new');
    const receiver = memoryReceiver(pool, 'backup/host1');
    await expect(
      receiver.destroySnapshots(
        { filesystem: '../host2', snapshots: [{ name: 'old', guid: '1' }], dryRun: false },
        new AbortController().signal,
      ),
    ).rejects.toThrow(/refusing filesystem path "..\/host2"/);
    expect(names(pool, 'backup/host2')).toEqual(['old', 'new']);
  });
});
