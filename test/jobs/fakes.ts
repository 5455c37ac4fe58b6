/** A host for jobs without ZFS: LocalZfs and endpoints over one simulated pool, fake timers. */
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import type { JobDeps } from '../../src/jobs/operations.js';
import type { Timers } from '../../src/jobs/schedule.js';
import type { LocalZfs, SnapshotInfo } from '../../src/jobs/zfs-local.js';

/** Timers that fire only when the test moves the clock. */
export function fakeTimers(start = Date.UTC(2026, 11, 3, 10)) {
  let now = start;
  let next = 1;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    setTimeout(fn, ms) {
      pending.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    now: () => new Date(now),
    pending: () => pending.size,
    /** Moves the clock by `ms`, firing every timer due on the way, in order. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...pending]
          .filter(([, t]) => t.at <= end)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (due === undefined) break;
        pending.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].fn();
      }
      now = end;
    },
  };
}

/** LocalZfs over `pool` (`pool` holds every local dataset, e.g. `tank/...` and `backup/...`). */
export function memoryZfs(pool: MemoryPool, now: () => Date): LocalZfs & { destroyed: string[] } {
  const below = (dataset: string) =>
    pool.paths().filter((p) => p === dataset || p.startsWith(`${dataset}/`));
  const destroyed: string[] = [];
  return {
    destroyed,
    async datasets(dataset) {
      return below(dataset);
    },
    async snapshots(dataset) {
      const out = new Map<string, SnapshotInfo[]>();
      for (const path of below(dataset)) {
        out.set(
          path,
          (pool.get(path)?.snapshots ?? []).map((s) => ({
            name: s.name,
            guid: s.guid,
            createTxg: s.createTxg,
            creation: s.creation,
            holds: 0,
          })),
        );
      }
      return out;
    },
    async snapshot(datasets, name, signal) {
      signal.throwIfAborted();
      for (const d of datasets) pool.snapshot(d, name, { creation: now() });
    },
    async destroy(dataset, names, signal) {
      signal.throwIfAborted();
      for (const n of names) {
        pool.destroySnapshot(dataset, n);
        destroyed.push(`${dataset}@${n}`);
      }
    },
  };
}

/** JobDeps over one simulated pool; `zfs:ROOT` connects to a receiver below ROOT of the same pool. */
export function memoryDeps(
  pool: MemoryPool,
  now: () => Date,
): JobDeps & { zfs: ReturnType<typeof memoryZfs> } {
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  return {
    zfs: memoryZfs(pool, now),
    openSender: async (spec) => {
      if (!spec.startsWith('zfs:')) throw new Error(`cannot open ${spec}`);
      return { endpoint: memorySender(pool, spec.slice(4)), close: async () => {} };
    },
    openReceiver: async (spec) => {
      if (!spec.startsWith('zfs:')) throw new Error(`cannot open ${spec}`);
      return { endpoint: memoryReceiver(pool, spec.slice(4)), close: async () => {} };
    },
    now,
    logger: silent,
  };
}
