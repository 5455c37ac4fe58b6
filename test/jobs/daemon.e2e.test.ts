/**
 * End to end on real ZFS (zfs-fuse here): `xrepl daemon` with a 1 s snapshot interval takes
 * snapshots, replicates them, prunes both sides while every run after the first stays
 * incremental; after a SIGHUP to manual snapshotting, one `xrepl wakeup` cycle runs and
 * `xrepl status --json`, `/metrics` and `zfs get` agree. Waits poll the daemon's status with a
 * deadline, never a fixed sleep.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { DaemonStatus } from '../../src/jobs/runtime.js';
import { fakeIO, run, type FakeIO } from '../cli/helpers.js';
import { datasetsBelow, snapshotsOf } from './zfs-names.js';
import { createPools, describeZfs, destroyPools, zfs, type TestPools } from '../helpers/zfs.js';

const DEADLINE_MS = 90_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describeZfs('xrepl daemon on real ZFS', () => {
  let pools: TestPools;
  let src: string;
  let dst: string;
  let hostDir: string | undefined;
  let configFile: string;
  let socket: string;
  let port: number;
  let io: FakeIO;
  let reload: (() => void) | undefined;
  let daemon: Promise<{ code: number }> | undefined;

  const config = (snapshotting: string, extra = ''): string => `
global:
  logging: { level: warn, format: json }
  monitoring: { listen: "127.0.0.1:${port}" }
  control: { socket: ${socket} }
jobs:
  - name: home
    type: push
    connect: zfs:${dst}/backup
    filesystems: { "${src}/home<": true, "${src}/home/tmp": false }
    snapshotting: ${snapshotting}
    replication: { initial: all }
    pruning:
      keep_sender: [ { type: not_replicated }, { type: last_n, count: 2 } ]
      keep_receiver: [ { type: last_n, count: 3, regex: "^xrepl_" } ]${extra}
`;

  const status = async (): Promise<DaemonStatus> => {
    const { code, io: out } = await run(['status', '--json', '--socket', socket]);
    if (code !== 0) throw new Error(`status exit ${code}: ${out.err}`);
    return JSON.parse(out.out) as DaemonStatus;
  };
  const waitFor = async (what: string, ok: (s: DaemonStatus) => boolean): Promise<DaemonStatus> => {
    const deadline = Date.now() + DEADLINE_MS;
    let last: DaemonStatus | undefined;
    while (Date.now() < deadline) {
      try {
        last = await status();
        if (ok(last)) return last;
      } catch {
        // the socket is not up yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(
      `timed out waiting for ${what}: ${JSON.stringify(last?.jobs[0] ?? null)}\n${io.err}`,
    );
  };

  beforeAll(async () => {
    pools = await createPools(['src', 'dst']);
    src = pools.name.src!;
    dst = pools.name.dst!;
    for (const fs of ['home', 'home/a', 'home/tmp', 'other']) zfs('create', `${src}/${fs}`);
    zfs('create', `${dst}/backup`);
    // The config and the socket are this host's files, where the daemon runs (with OpenZFS the
    // pools' directory is in the guest).
    hostDir = mkdtempSync(join(tmpdir(), 'xrepl-daemon-'));
    socket = join(hostDir, 'control.sock');
    configFile = join(hostDir, 'xrepl.yml');
    port = await freePort();
    io = fakeIO();
    io.now = () => Date.now();
    io.onReload = (listener) => {
      reload = listener;
      return () => (reload = undefined);
    };
  }, 120_000);

  afterAll(async () => {
    if (daemon !== undefined) {
      io.interrupt();
      await daemon;
    }
    if (pools !== undefined) await destroyPools(pools);
    if (hostDir !== undefined) rmSync(hostDir, { recursive: true, force: true });
  }, 120_000);

  test('a config with a typo is refused with its path (exit 2)', async () => {
    writeFileSync(
      configFile,
      config('{ type: periodic, interval: 1s, prefix: xrepl_ }').replace(
        'keep_receiver',
        'keep_reciever',
      ),
    );
    const { code, io: out } = await run(['daemon', '--config', configFile]);
    expect(code).toBe(2);
    expect(out.err).toMatch(/jobs\[0\]\.pruning: .*keep_reciever/);
  });

  test(
    'snapshots every second, replicates incrementally and prunes both sides',
    async () => {
      writeFileSync(configFile, config('{ type: periodic, interval: 1s, prefix: xrepl_ }'));
      // With the visualizer: the daemon, its jobs and their runs go through its inspection.
      daemon = run(['daemon', '--config', configFile, '--visualize', '0'], io);
      // A second daemon of the same config is refused.
      await waitFor('the daemon', (s) => s.jobs.length === 1);
      const second = await run(['daemon', '--config', configFile]);
      expect(second.code).toBe(1);
      expect(second.io.err).toMatch(/another xrepl daemon/);

      const s = await waitFor(
        'five cycles with receiver pruning',
        (st) =>
          (st.jobs[0]?.cycles ?? 0) >= 5 && (st.jobs[0]?.lastPrune.receiver?.destroyed ?? 0) > 0,
      );
      const job = s.jobs[0]!;
      expect(job.lastError).toBeNull();
      // Every run after the first is incremental: each step has a `from`.
      for (const fs of job.run?.attempts.at(-1)?.filesystems ?? []) {
        for (const step of fs.steps) expect(step.info.from).not.toBe('');
      }
      // Excluded and unselected datasets are neither snapshotted nor replicated.
      expect(snapshotsOf(`${src}/home/tmp`)).toEqual([]);
      expect(snapshotsOf(`${src}/other`)).toEqual([]);
      expect(datasetsBelow(`${dst}/backup`)).toEqual([
        `${dst}/backup`,
        `${dst}/backup/home`,
        `${dst}/backup/home/a`,
      ]);
    },
    DEADLINE_MS + 30_000,
  );

  test(
    'a bad config on SIGHUP is refused and the old one keeps running',
    async () => {
      writeFileSync(configFile, 'jobs: [ { name: x } ]');
      const before = (await status()).jobs[0]!.cycles;
      reload!();
      await waitFor('another cycle', (s) => s.jobs[0]!.cycles > before);
      expect(io.err).toMatch(/reload refused/);
    },
    DEADLINE_MS,
  );

  test(
    'after a reload to manual snapshots, one wakeup cycle: status, /metrics and zfs agree',
    async () => {
      writeFileSync(configFile, config('{ type: manual, prefix: xrepl_ }'));
      reload!();
      const idle = await waitFor(
        'the manual config',
        (s) => s.jobs[0]!.nextTick === null && s.jobs[0]!.state === 'idle',
      );
      // A new second, so the new snapshot's name (to the second) is new.
      const last = idle.jobs[0]!.lastSnapshot?.time;
      while (new Date(String(last)).getTime() / 1000 === Math.floor(Date.now() / 1000)) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const woke = await run(['wakeup', 'home', '--socket', socket]);
      expect(woke.code).toBe(0);
      const s = await waitFor(
        'the wakeup cycle',
        (st) => st.jobs[0]!.cycles === idle.jobs[0]!.cycles + 1 && st.jobs[0]!.state === 'idle',
      );
      const job = s.jobs[0]!;
      expect(job.lastError).toBeNull();

      const datasets = [`${src}/home`, `${src}/home/a`];
      for (const d of datasets) {
        const sender = snapshotsOf(d);
        const receiver = snapshotsOf(`${dst}/backup/${d.slice(src.length + 1)}`);
        // keep_sender: last 2 (and nothing unreplicated is left); keep_receiver: last 3.
        expect(sender).toHaveLength(2);
        expect(receiver).toHaveLength(3);
        expect(receiver.at(-1)).toBe(job.lastSnapshot?.name);
        expect(sender.at(-1)).toBe(job.lastSnapshot?.name);
        const status = job.datasets.find((x) => x.dataset === d);
        expect(status?.behindSince).toBeNull();
      }
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const d of datasets) {
        expect(text).toContain(`xrepl_replication_lag_seconds{job="home",dataset="${d}"} 0`);
      }
      expect(text).toContain('xrepl_job_state{job="home",state="idle"} 1');
      expect(text).toMatch(/xrepl_snapshots_pruned_total\{job="home",side="receiver"\} [1-9]/);
      expect(text).not.toMatch(/xrepl_job_errors_total\{/);
    },
    DEADLINE_MS,
  );

  test('SIGTERM stops the daemon cleanly: exit 0, socket and lock gone', async () => {
    io.interrupt();
    const { code } = await daemon!;
    daemon = undefined;
    expect(code).toBe(0);
    const { code: after, io: out } = await run(['status', '--socket', socket]);
    expect(after).toBe(1);
    expect(out.err).toMatch(/cannot reach the daemon/);
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(`${socket}.lock`)).toBe(false);
  }, 60_000);
});
