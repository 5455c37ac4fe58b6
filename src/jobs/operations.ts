/**
 * The work of a job's states (the implementations the job chart gets through `.provide()`):
 * take the snapshots, replicate with the driver, prune one side. Each takes the job's config
 * and an AbortSignal; everything it touches comes in through `JobDeps`.
 */
import type { Logger } from '../driver/types.js';
import { replicate, type Replication, type ReplicateOptions } from '../driver/replicate.js';
import {
  isPrunable,
  type FilesystemVersion,
  type Receiver,
  type Sender,
} from '../endpoints/types.js';
import { datasetOf } from '../endpoints/paths.js';
import { createPlanner } from '../planner/index.js';
import type { Report } from '../report/schema.js';
import { limitSender, TokenBucket } from '../transport/bandwidth.js';
import type { KeepRule, PullJob, PushJob, SinkJob, SnapJob, SourceJob } from './config.js';
import type { ServedJob } from './serving.js';
import { runHook } from './hooks.js';
import {
  bandwidthOf,
  driverConfigOf,
  endpointOptionsOf,
  type JobEndpointOptions,
} from './replication-config.js';
import { planPrune } from './pruning/plan.js';
import { pruneSide, type DatasetPrune, type PruneResult } from './pruning/run.js';
import { resolveSelection } from './resolve.js';
import { snapshotName } from './schedule.js';
import { pairOf, poolOf, type ReplicationPair } from './sides.js';
import type { LocalZfs, SnapshotInfo } from './zfs-local.js';

/** An opened endpoint and how to let it go. */
export interface Opened<E> {
  endpoint: E;
  close(): Promise<void>;
}

export interface JobDeps {
  zfs: LocalZfs;
  /** An endpoint spec (`zfs:tank`, `grpc://...`) as a sender; zfs: endpoints take `options`. */
  openSender(spec: string, options?: JobEndpointOptions['sender']): Promise<Opened<Sender>>;
  /** An endpoint spec as a receiver. */
  openReceiver(spec: string, options?: JobEndpointOptions['receiver']): Promise<Opened<Receiver>>;
  now(): Date;
  logger: Logger;
  inspect?: ReplicateOptions['inspect'];
  /** Starts the server of a sink or source job (`xrepl serve`'s, composed by the CLI). */
  serveJob?(job: SinkJob | SourceJob): Promise<ServedJob>;
}

export interface SnapshotResult {
  name: string;
  datasets: string[];
  time: Date;
}

/** One `zfs snapshot` of every selected dataset (per pool), with the hooks around it. */
export async function takeSnapshots(
  job: Pick<PushJob | SnapJob, 'name' | 'filesystems' | 'snapshotting'>,
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
 * One run of the driver over the job's pair of endpoints (push: from its pool to `connect`,
 * restricted to the selection; pull: from `connect` into `root_fs`). `current` receives the
 * live Replication (for `xrepl status`). Resolves with the report of a done run; rejects with
 * its errors otherwise.
 */
export async function replicateJob(
  job: PushJob | PullJob,
  deps: JobDeps,
  signal: AbortSignal,
  current: (replication: Replication | undefined) => void,
): Promise<Report> {
  const pair = pairOf(job);
  const options = endpointOptionsOf(job.name, job.replication);
  const sender = await deps.openSender(pair.senderSpec, options.sender);
  try {
    const receiver = await deps.openReceiver(pair.receiverSpec, options.receiver);
    try {
      const rate = bandwidthOf(job.replication);
      const from =
        rate === undefined
          ? sender.endpoint
          : limitSender(sender.endpoint, new TokenBucket({ bytesPerSecond: rate }));
      const planner = createPlanner(from, receiver.endpoint, {
        initial: job.replication.initial,
        onStaleResumeToken: job.replication.on_stale_resume_token,
        filesystems: pair.filter,
        ...(pair.rootName === undefined ? {} : { rootName: pair.rootName }),
      });
      const replication = replicate(driverConfigOf(job.replication), planner, {
        signal,
        now: deps.now,
        logger: deps.logger,
        ...(deps.inspect === undefined ? {} : { inspect: deps.inspect }),
      });
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

/** Snapshots (guid and creation) of `path` on an endpoint; none when it lacks the filesystem. */
async function snapshotsOn(
  endpoint: Receiver | Sender,
  path: string,
  signal: AbortSignal,
): Promise<FilesystemVersion[]> {
  try {
    const versions = await endpoint.listFilesystemVersions(path, signal);
    return versions.filter((v) => v.type === 'snapshot');
  } catch (err) {
    if (/does not exist/.test((err as Error).message)) return [];
    throw err;
  }
}

/** The entries of `all` for `datasets`. */
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

const guids = (versions: readonly FilesystemVersion[]): Set<string> =>
  new Set(versions.map((v) => v.guid));

/** Opens both endpoints of `pair`, runs `fn`, closes them. */
async function withPair<T>(
  job: PushJob | PullJob,
  pair: ReplicationPair,
  deps: JobDeps,
  fn: (sender: Sender, receiver: Receiver) => Promise<T>,
): Promise<T> {
  const options = endpointOptionsOf(job.name, job.replication);
  const sender = await deps.openSender(pair.senderSpec, options.sender);
  try {
    const receiver = await deps.openReceiver(pair.receiverSpec, options.receiver);
    try {
      return await fn(sender.endpoint, receiver.endpoint);
    } finally {
      await receiver.close();
    }
  } finally {
    await sender.close();
  }
}

/** The sender's root-relative paths the job replicates. */
async function replicatedPaths(
  pair: ReplicationPair,
  sender: Sender,
  signal: AbortSignal,
): Promise<string[]> {
  const all = (await sender.listFilesystems(signal)).map((fs) => fs.path);
  return all.filter(pair.filter);
}

/**
 * Prunes one side of a job (`dryRun`: plans only), comparing with the other side's snapshots
 * through its endpoint. A side is pruned on this host's pool; a side without keep rules is
 * left alone.
 */
export async function pruneJob(
  job: PushJob | PullJob | SnapJob,
  side: 'sender' | 'receiver',
  deps: JobDeps,
  signal: AbortSignal,
  dryRun = false,
): Promise<PruneResult> {
  const now = deps.now();
  if (job.type === 'snap') {
    const { selected } = await resolveSelection(job.filesystems, deps.zfs, signal);
    return pruneSide({
      side,
      zfs: deps.zfs,
      snapshots: only(await deps.zfs.snapshots(poolOf(job), signal), selected),
      rules: job.pruning.keep,
      now,
      dryRun,
      signal,
    });
  }
  const pair = pairOf(job);
  const rules = side === 'sender' ? job.pruning.keep_sender : job.pruning.keep_receiver;
  const root = side === 'sender' ? pair.senderRoot : pair.receiverRoot;
  if (rules.length === 0) return { side, datasets: [], destroyed: 0 };
  if (root === undefined) {
    // pairOf refuses keep_sender rules without the sender's pool here.
    if (side === 'sender') return { side, datasets: [], destroyed: 0 };
    return pruneRemoteReceiver(job, pair, rules, deps, { now, dryRun, signal });
  }
  return withPair(job, pair, deps, async (sender, receiver) => {
    const other = side === 'sender' ? receiver : sender;
    const byDataset = new Map<string, Set<string>>();
    for (const path of await replicatedPaths(pair, sender, signal)) {
      byDataset.set(datasetOf(root, path), guids(await snapshotsOn(other, path, signal)));
    }
    return pruneSide({
      side,
      zfs: deps.zfs,
      snapshots: only(await deps.zfs.snapshots(root, signal), byDataset.keys()),
      rules,
      otherSide: (d) => byDataset.get(d) ?? new Set(),
      now,
      dryRun,
      signal,
    });
  });
}

/**
 * Prunes a receiver on another host through its endpoint (zrepl's way): this side plans over
 * the receiver's listing, the receiver destroys what it is asked below this client's root and
 * keeps, whatever it is asked, held snapshots and each filesystem's newest one. Datasets are
 * named `<connect>/<path>`.
 */
async function pruneRemoteReceiver(
  job: PushJob | PullJob,
  pair: ReplicationPair,
  rules: readonly KeepRule[],
  deps: JobDeps,
  run: { now: Date; dryRun: boolean; signal: AbortSignal },
): Promise<PruneResult> {
  const { signal } = run;
  return withPair(job, pair, deps, async (sender, receiver) => {
    if (!isPrunable(receiver)) {
      throw new Error(
        `job ${job.name}: the receiver ${pair.receiverSpec} cannot destroy snapshots`,
      );
    }
    const datasets: DatasetPrune[] = [];
    let destroyed = 0;
    for (const path of await replicatedPaths(pair, sender, signal)) {
      const theirs = await snapshotsOn(receiver, path, signal);
      if (theirs.length === 0) continue;
      const verdicts = planPrune({
        side: 'receiver',
        // Holds are the receiver's to check: it keeps held snapshots whatever it is asked.
        snapshots: theirs.map((v) => ({ ...v, holds: 0 })),
        rules,
        otherSide: guids(await snapshotsOn(sender, path, signal)),
        now: run.now,
      });
      const doomed = theirs.filter((v) => verdicts.some((d) => d.destroy && d.name === v.name));
      if (doomed.length > 0) {
        const result = await receiver.destroySnapshots(
          {
            filesystem: path,
            snapshots: doomed.map(({ name, guid }) => ({ name, guid })),
            dryRun: run.dryRun,
          },
          signal,
        );
        const kept = new Map(result.kept.map((k) => [k.name, k.reason]));
        for (const v of verdicts) {
          const reason = kept.get(v.name);
          if (v.destroy && reason !== undefined) {
            v.destroy = false;
            v.reason = `kept by the receiver: ${reason}`;
          }
        }
        if (!run.dryRun) destroyed += result.destroyed.length;
      }
      datasets.push({ dataset: datasetOf(pair.receiverSpec, path), verdicts });
    }
    return { side: 'receiver', datasets, destroyed };
  });
}

/**
 * Per replicated dataset (named as `pair.datasetName` says): the creation of the oldest sender
 * snapshot the receiver lacks (newer than the newest one they share), or undefined when the
 * receiver is current.
 */
export async function behindSince(
  job: PushJob | PullJob,
  deps: JobDeps,
  signal: AbortSignal,
): Promise<Map<string, Date | undefined>> {
  const pair = pairOf(job);
  return withPair(job, pair, deps, async (sender, receiver) => {
    const result = new Map<string, Date | undefined>();
    for (const path of await replicatedPaths(pair, sender, signal)) {
      const mine = await snapshotsOn(sender, path, signal);
      const theirs = guids(await snapshotsOn(receiver, path, signal));
      let newestCommon = -1;
      mine.forEach((s, i) => {
        if (theirs.has(s.guid)) newestCommon = i;
      });
      result.set(pair.datasetName(path), mine[newestCommon + 1]?.creation);
    }
    return result;
  });
}
