/**
 * Where a job's snapshots live. A push job's sender is rooted at the pool of its selection,
 * so a selected subtree's own root has a path (`tank/home` is `home`) and lands at
 * `<connect root>/home`; the pool itself, when selected, is the path `""` and lands in the
 * connect root itself; then the report names are the full dataset names (`tank`, `tank/home`:
 * the planner's `rootName` is the pool). A pull job replicates everything its `connect` serves
 * below its root into `root_fs` (not the served root: as `replicate` without `--filesystems`).
 * A sender is pruned on this host (a `zfs:` endpoint); a receiver elsewhere through its
 * endpoint (operations.ts).
 */
import { datasetOf, relativePathProblem } from '../endpoints/paths.js';
import { filesystemNaming } from '../planner/names.js';
import type { JobConfig, PullJob, PushJob, SnapJob, SourceJob } from './config.js';
import { zfsOnlyKeys } from './replication-config.js';
import { poolOfSelection, selectionOf } from './selection.js';

/** The two endpoints of a replicating job, and their local roots where they are local. */
export interface ReplicationPair {
  senderSpec: string;
  receiverSpec: string;
  /** The sender's root dataset when it is on this host (for pruning the sender). */
  senderRoot: string | undefined;
  /** The receiver's root dataset when it is on this host; else it is pruned through its endpoint. */
  receiverRoot: string | undefined;
  /** Which of the sender's root-relative paths to replicate (`""`: the sender's root). */
  filter: (path: string) => boolean;
  /** The planner's `rootName`, the label of the sender's root when `filter` selects it (push: the pool). */
  rootName: string | undefined;
  /** The dataset name that status and metrics show for a path (push: the sender's). */
  datasetName(path: string): string;
  /** The same for a filesystem's name in a report (the planner's naming, names.ts). */
  datasetOfName(name: string): string;
}

/** A pair with `datasetOfName` derived from the planner's naming of its filter and rootName. */
function withNames(pair: Omit<ReplicationPair, 'datasetOfName'>): ReplicationPair {
  const naming = filesystemNaming({ filesystems: pair.filter, rootName: pair.rootName });
  return { ...pair, datasetOfName: (name) => pair.datasetName(naming.pathOf(name)) };
}

/** A job that cannot run as configured (a ConfigError-like problem found past the schema). */
export class JobSetupError extends Error {
  override readonly name = 'JobSetupError';
}

const zfsRoot = (spec: string): string | undefined =>
  spec.startsWith('zfs:') ? spec.slice(4) : undefined;

/** The pool of a job's selection (push, snap, source), or a JobSetupError when there is not one. */
export function poolOf(job: {
  name: string;
  filesystems: Readonly<Record<string, boolean>>;
}): string {
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
    return withNames({
      senderSpec: `zfs:${pool}`,
      receiverSpec: job.connect,
      senderRoot: pool,
      receiverRoot,
      filter: (path) => selection.selects(datasetOf(pool, path)),
      rootName: pool,
      datasetName: (path) => datasetOf(pool, path),
    });
  }
  const senderRoot = zfsRoot(job.connect);
  needsLocal(job.pruning.keep_sender, senderRoot, 'keep_sender');
  return withNames({
    senderSpec: job.connect,
    receiverSpec: `zfs:${job.root_fs}`,
    senderRoot,
    receiverRoot: job.root_fs,
    // As `replicate` without --filesystems: what connect serves below its root.
    filter: (path) => path !== '',
    rootName: undefined,
    datasetName: (path) => datasetOf(job.root_fs, path),
  });
}

/** Checks what the schema cannot: one pool per job, zfs options only for zfs: sides. */
export function checkJob(job: JobConfig): void {
  if (job.type === 'snap' || job.type === 'source') {
    poolOf(job);
    return;
  }
  if (job.type === 'sink') {
    const problem = relativePathProblem(job.root_fs);
    if (problem !== undefined) {
      throw new JobSetupError(
        `job ${job.name}: root_fs ${JSON.stringify(job.root_fs)}: ${problem}`,
      );
    }
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

/** The pool a source job serves, and which of its root-relative paths it shows. */
export function sourceSide(job: SourceJob): { root: string; filter: (path: string) => boolean } {
  const root = poolOf(job);
  const selection = selectionOf(job.filesystems);
  return { root, filter: (path) => selection.selects(datasetOf(root, path)) };
}

/** Whether `job` has keep rules to prune by (push, pull and snap; not sink or source). */
export function prunes(job: JobConfig): job is PushJob | SnapJob | PullJob {
  return job.type === 'push' || job.type === 'snap' || job.type === 'pull';
}
