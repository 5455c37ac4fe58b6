/**
 * Where a job's snapshots live. A push job's sender is rooted at the pool of its selection,
 * so a selected subtree's own root has a path (`tank/home` is `home`) and lands at
 * `<receiver root>/home`. Receiver pruning needs the receiving pool: a `zfs:` connect.
 */
import type { JobConfig, PushJob, SnapJob } from './config.js';
import { poolOfSelection, selectionOf } from './selection.js';

export interface JobSides {
  /** The pool the sender (or the snap job) works in; its datasets are selected by the patterns. */
  pool: string;
  /** The receiver's root dataset when it is local (`zfs:ROOT`), for receiver pruning. */
  receiverRoot: string | undefined;
}

/** A job that cannot run as configured (a ConfigError-like problem found past the schema). */
export class JobSetupError extends Error {
  override readonly name = 'JobSetupError';
}

/** The sides of a push or snap job, or a JobSetupError saying what to change. */
export function sidesOf(job: PushJob | SnapJob): JobSides {
  const pools = poolOfSelection(selectionOf(job.filesystems));
  if (pools.length !== 1 || pools[0] === undefined) {
    throw new JobSetupError(
      `job ${job.name}: filesystems select datasets of ${pools.length} pools (${pools.join(', ')}); one job works in one pool`,
    );
  }
  if (job.type === 'snap') return { pool: pools[0], receiverRoot: undefined };
  const receiverRoot = job.connect.startsWith('zfs:') ? job.connect.slice(4) : undefined;
  if (receiverRoot === undefined && job.pruning.keep_receiver.length > 0) {
    throw new JobSetupError(
      `job ${job.name}: keep_receiver needs a zfs: connect (the receiving pool on this host); ` +
        `prune ${job.connect} where it runs, or set keep_receiver: []`,
    );
  }
  return { pool: pools[0], receiverRoot };
}

/** `tank/home/x` of pool `tank` on a receiver rooted at `backup/h1`: `backup/h1/home/x`. */
export function receiverDataset(pool: string, dataset: string, receiverRoot: string): string {
  return dataset === pool ? receiverRoot : `${receiverRoot}/${dataset.slice(pool.length + 1)}`;
}

/** Whether the daemon runs `job` (sink and source run under `xrepl serve` for now). */
export function isRunnable(job: JobConfig): job is PushJob | SnapJob {
  return job.type === 'push' || job.type === 'snap';
}
