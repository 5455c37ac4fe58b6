/**
 * Where a job's snapshots live. A push job's sender is rooted at the pool of its selection,
 * so a selected subtree's own root has a path (`tank/home` is `home`) and lands at
 * `<connect root>/home`. A pull job replicates everything its `connect` serves into
 * `root_fs`. Pruning a side needs its pool on this host: a `zfs:` endpoint.
 */
import type { JobConfig, PullJob, PushJob, SnapJob } from './config.js';
import { zfsOnlyKeys } from './replication-config.js';
import { poolOfSelection, selectionOf } from './selection.js';

/** The two endpoints of a replicating job, and their local roots where they are local. */
export interface ReplicationPair {
  senderSpec: string;
  receiverSpec: string;
  /** The sender's root dataset when it is on this host (for pruning the sender). */
  senderRoot: string | undefined;
  /** The receiver's root dataset when it is on this host (for pruning the receiver). */
  receiverRoot: string | undefined;
  /** Which of the sender's root-relative paths to replicate (push: the selection). */
  filter: ((path: string) => boolean) | undefined;
  /** The dataset name that status and metrics show for a path (push: the sender's). */
  datasetName(path: string): string;
}

/** A job that cannot run as configured (a ConfigError-like problem found past the schema). */
export class JobSetupError extends Error {
  override readonly name = 'JobSetupError';
}

const zfsRoot = (spec: string): string | undefined =>
  spec.startsWith('zfs:') ? spec.slice(4) : undefined;

/** The pool of a push or snap job's selection, or a JobSetupError when there is not one. */
export function poolOf(job: PushJob | SnapJob): string {
  const pools = poolOfSelection(selectionOf(job.filesystems));
  if (pools.length !== 1 || pools[0] === undefined) {
    throw new JobSetupError(
      `job ${job.name}: filesystems select datasets of ${pools.length} pools (${pools.join(', ')}); one job works in one pool`,
    );
  }
  return pools[0];
}

/** The endpoints of a push or pull job, or a JobSetupError saying what to change. */
export function pairOf(job: PushJob | PullJob): ReplicationPair {
  const needsLocal = (rules: readonly unknown[], root: string | undefined, key: string): void => {
    if (rules.length > 0 && root === undefined) {
      throw new JobSetupError(
        `job ${job.name}: ${key} needs the sender's pool on this host (a zfs: connect); ` +
          `prune ${job.connect} where it runs, or set ${key}: []`,
      );
    }
  };
  if (job.type === 'push') {
    const pool = poolOf(job);
    const selection = selectionOf(job.filesystems);
    // A receiver elsewhere is pruned through its endpoint (operations.ts).
    const receiverRoot = zfsRoot(job.connect);
    return {
      senderSpec: `zfs:${pool}`,
      receiverSpec: job.connect,
      senderRoot: pool,
      receiverRoot,
      filter: (path) => selection.selects(`${pool}/${path}`),
      datasetName: (path) => `${pool}/${path}`,
    };
  }
  const senderRoot = zfsRoot(job.connect);
  needsLocal(job.pruning.keep_sender, senderRoot, 'keep_sender');
  return {
    senderSpec: job.connect,
    receiverSpec: `zfs:${job.root_fs}`,
    senderRoot,
    receiverRoot: job.root_fs,
    filter: undefined,
    datasetName: (path) => `${job.root_fs}/${path}`,
  };
}

/** Checks what the schema cannot: one pool per job, zfs options only for zfs: sides. */
export function checkJob(job: PushJob | PullJob | SnapJob): void {
  if (job.type === 'snap') {
    poolOf(job);
    return;
  }
  const pair = pairOf(job);
  for (const [role, spec] of [
    ['sender', pair.senderSpec],
    ['receiver', pair.receiverSpec],
  ] as const) {
    const keys = zfsOnlyKeys(job.replication, role);
    if (keys.length > 0 && zfsRoot(spec) === undefined) {
      throw new JobSetupError(
        `job ${job.name}: ${keys.join(', ')} apply to a zfs: ${role} only, not to ${spec} ` +
          '(a server decides for itself: set them where it runs)',
      );
    }
  }
}

/** Whether the daemon runs `job` (sink and source run under `xrepl serve` for now). */
export function isRunnable(job: JobConfig): job is PushJob | SnapJob | PullJob {
  return job.type === 'push' || job.type === 'snap' || job.type === 'pull';
}
