/**
 * The work of a job's states (the implementations the job chart gets through `.provide()`):
 * take the snapshots, replicate with the driver, prune one side. Each takes the job's config
 * and an AbortSignal; everything it touches comes in through `JobDeps`.
 */
import type { Logger } from '../driver/types.js';
import { replicate, type Replication, type ReplicateOptions } from '../driver/replicate.js';
import type { Receiver, Sender } from '../endpoints/types.js';
import { createPlanner } from '../planner/index.js';
import type { Report } from '../report/schema.js';
import type { PushJob, SnapJob } from './config.js';
import { durationMs } from './duration.js';
import { runHook } from './hooks.js';
import { pruneSide, type PruneResult } from './pruning/run.js';
import { resolveSelection } from './resolve.js';
import { snapshotName } from './schedule.js';
import { selectionOf } from './selection.js';
import { receiverDataset, sidesOf } from './sides.js';
import type { LocalZfs, SnapshotInfo } from './zfs-local.js';

/** An opened endpoint and how to let it go. */
export interface Opened<E> {
  endpoint: E;
  close(): Promise<void>;
}

export interface JobDeps {
  zfs: LocalZfs;
  /** The sender over the local pool, rooted at `pool`. */
  openSender(pool: string): Promise<Opened<Sender>>;
  /** The job's `connect` endpoint as a receiver. */
  openReceiver(spec: string): Promise<Opened<Receiver>>;
  now(): Date;
  logger: Logger;
  inspect?: ReplicateOptions['inspect'];
}

export interface SnapshotResult {
  name: string;
  datasets: string[];
  time: Date;
}

/** One `zfs snapshot` of every selected dataset (per pool), with the hooks around it. */
export async function takeSnapshots(
  job: PushJob | SnapJob,
  deps: JobDeps,
  signal: AbortSignal,
): Promise<SnapshotResult> {
  const { selected } = await resolveSelection(job.filesystems, deps.zfs, signal);
  const time = deps.now();
  const name = snapshotName(job.snapshotting.prefix, time);
  const hookRun = async (phase: 'pre' | 'post'): Promise<void> => {
    for (const hook of job.snapshotting.hooks) {
      try {
        await runHook(hook, { job: job.name, phase, snapshot: name, datasets: selected }, signal);
      } catch (err) {
        if (hook.err_is_fatal) throw err;
        deps.logger.warn({ job: job.name, err: (err as Error).message }, 'snapshot hook failed');
      }
    }
  };
  await hookRun('pre');
  await deps.zfs.snapshot(selected, name, signal);
  await hookRun('post');
  return { name, datasets: selected, time };
}

/** The error a failed run reports last, as an Error for the job's error state. */
function runError(report: Report): Error {
  const errors: string[] = [];
  if (report.waitReconnectError) errors.push(report.waitReconnectError.err);
  for (const attempt of report.attempts.slice(-1)) {
    if (attempt.planError) errors.push(attempt.planError.err);
    for (const fs of attempt.filesystems) {
      const e = fs.planError ?? fs.stepError;
      if (e) errors.push(`${fs.info.name}: ${e.err}`);
    }
  }
  return new Error(`replication ${report.state}: ${errors.join('; ') || 'no error reported'}`);
}

/**
 * One run of the driver from the job's pool to its `connect`, restricted to the selection.
 * `current` receives the live Replication (for `xrepl status`). Resolves with the report of a
 * done run; rejects with its errors otherwise.
 */
export async function replicateJob(
  job: PushJob,
  deps: JobDeps,
  signal: AbortSignal,
  current: (replication: Replication | undefined) => void,
): Promise<Report> {
  const { pool } = sidesOf(job);
  const selection = selectionOf(job.filesystems);
  const sender = await deps.openSender(pool);
  try {
    const receiver = await deps.openReceiver(job.connect);
    try {
      const planner = createPlanner(sender.endpoint, receiver.endpoint, {
        initial: job.replication.initial,
        filesystems: (path) => selection.selects(`${pool}/${path}`),
      });
      const replication = replicate(
        {
          stepQueueConcurrency: job.replication.concurrency,
          maxAttempts: job.replication.max_attempts,
          reconnectHardFailTimeoutMs: durationMs(job.replication.reconnect_timeout) ?? 600_000,
        },
        planner,
        {
          signal,
          now: deps.now,
          logger: deps.logger,
          ...(deps.inspect === undefined ? {} : { inspect: deps.inspect }),
        },
      );
      current(replication);
      const report = await replication.wait();
      if (report.state !== 'done') throw runError(report);
      return report;
    } finally {
      current(undefined);
      await receiver.close();
    }
  } finally {
    await sender.close();
  }
}

/** Snapshot guids of `path` on an endpoint; none when it lacks the filesystem. */
async function guidsOn(
  endpoint: Receiver | Sender,
  path: string,
  signal: AbortSignal,
): Promise<Set<string>> {
  try {
    const versions = await endpoint.listFilesystemVersions(path, signal);
    return new Set(versions.filter((v) => v.type === 'snapshot').map((v) => v.guid));
  } catch (err) {
    if (/does not exist/.test((err as Error).message)) return new Set();
    throw err;
  }
}

function only(
  all: Map<string, SnapshotInfo[]>,
  datasets: Iterable<string>,
): Map<string, SnapshotInfo[]> {
  const out = new Map<string, SnapshotInfo[]>();
  for (const d of datasets) {
    const list = all.get(d);
    if (list !== undefined) out.set(d, list);
  }
  return out;
}

/**
 * Prunes one side of a job (`dryRun`: plans only). The sender side compares with the
 * receiver's snapshots through the `connect` endpoint; the receiver side works on the local
 * receiving pool (`zfs:` connect).
 */
export async function pruneJob(
  job: PushJob | SnapJob,
  side: 'sender' | 'receiver',
  deps: JobDeps,
  signal: AbortSignal,
  dryRun = false,
): Promise<PruneResult> {
  const { pool, receiverRoot } = sidesOf(job);
  const { selected } = await resolveSelection(job.filesystems, deps.zfs, signal);
  const now = deps.now();
  if (job.type === 'snap') {
    return pruneSide({
      side,
      zfs: deps.zfs,
      snapshots: only(await deps.zfs.snapshots(pool, signal), selected),
      rules: job.pruning.keep,
      now,
      dryRun,
      signal,
    });
  }
  const pathOf = (dataset: string): string => dataset.slice(pool.length + 1);
  // The pool's root dataset is never replicated (the sender lists what is below its root).
  const replicated = selected.filter((d) => d !== pool);
  if (side === 'sender') {
    const receiver = await deps.openReceiver(job.connect);
    try {
      const other = new Map<string, Set<string>>();
      for (const d of replicated) other.set(d, await guidsOn(receiver.endpoint, pathOf(d), signal));
      return await pruneSide({
        side,
        zfs: deps.zfs,
        snapshots: only(await deps.zfs.snapshots(pool, signal), replicated),
        rules: job.pruning.keep_sender,
        otherSide: (d) => other.get(d) ?? new Set(),
        now,
        dryRun,
        signal,
      });
    } finally {
      await receiver.close();
    }
  }
  if (receiverRoot === undefined || job.pruning.keep_receiver.length === 0) {
    return { side, datasets: [], destroyed: 0 };
  }
  const senderSnapshots = await deps.zfs.snapshots(pool, signal);
  const toSender = new Map(replicated.map((d) => [receiverDataset(pool, d, receiverRoot), d]));
  const onReceiver = only(await deps.zfs.snapshots(receiverRoot, signal), toSender.keys());
  return pruneSide({
    side,
    zfs: deps.zfs,
    snapshots: onReceiver,
    rules: job.pruning.keep_receiver,
    otherSide: (d) =>
      new Set((senderSnapshots.get(toSender.get(d) ?? '') ?? []).map((s) => s.guid)),
    now,
    dryRun,
    signal,
  });
}

/**
 * Per replicated dataset: the creation of the oldest sender snapshot the receiver lacks
 * (newer than the newest one they share), or undefined when the receiver is current.
 */
export async function behindSince(
  job: PushJob,
  deps: JobDeps,
  signal: AbortSignal,
): Promise<Map<string, Date | undefined>> {
  const { pool } = sidesOf(job);
  const { selected } = await resolveSelection(job.filesystems, deps.zfs, signal);
  const senderSnapshots = await deps.zfs.snapshots(pool, signal);
  const receiver = await deps.openReceiver(job.connect);
  const result = new Map<string, Date | undefined>();
  try {
    for (const dataset of selected.filter((d) => d !== pool)) {
      const theirs = await guidsOn(receiver.endpoint, dataset.slice(pool.length + 1), signal);
      const mine = senderSnapshots.get(dataset) ?? [];
      let newestCommon = -1;
      mine.forEach((s, i) => {
        if (theirs.has(s.guid)) newestCommon = i;
      });
      result.set(dataset, mine[newestCommon + 1]?.creation);
    }
  } finally {
    await receiver.close();
  }
  return result;
}
