/**
 * Pure planning: which transfers bring the receiver's versions up to the sender's
 * (REPLICATION.md "Planner", the incremental path and the initial replication policies).
 */
import type { FilesystemVersion } from '../endpoints/types.js';
import { PlanningError } from './errors.js';
import { sortVersions, versionLabel, versionList } from './versions.js';

/** What to do when the receiver has nothing yet. */
export type InitialPolicy = 'most-recent' | 'all' | 'fail';

/** One send: full when `from` is undefined. `resumeToken` continues an interrupted receive. */
export interface Transfer {
  from?: FilesystemVersion;
  to: FilesystemVersion;
  resumeToken?: string;
}

/**
 * The incremental path: the common ancestor (the most recent receiver snapshot whose guid the
 * sender also has), then every later sender snapshot. `'initial'` when there is no common
 * ancestor because the receiver has no snapshots. Throws PlanningError on conflicts.
 * Receiver bookmarks are ignored. Inputs need not be sorted.
 */
export function incrementalPath(
  filesystem: string,
  senderVersions: readonly FilesystemVersion[],
  receiverVersions: readonly FilesystemVersion[],
): FilesystemVersion[] | 'initial' {
  const sender = sortVersions(senderVersions);
  const receiver = sortVersions(receiverVersions.filter((v) => v.type === 'snapshot'));
  const senderSnapshots = sender.filter((v) => v.type === 'snapshot');
  if (senderSnapshots.length === 0) {
    throw new PlanningError(
      'no-sender-snapshots',
      filesystem,
      'the sender has no snapshots of it; take a snapshot on the sender first',
    );
  }
  let ancestorIndex = -1;
  let ancestor: FilesystemVersion | undefined;
  for (let i = receiver.length - 1; i >= 0 && !ancestor; i--) {
    const guid = receiver[i]?.guid;
    // A snapshot is preferred over a bookmark of it as the incremental source.
    const matches = sender.filter((v) => v.guid === guid);
    ancestor = matches.find((v) => v.type === 'snapshot') ?? matches[0];
    if (ancestor) ancestorIndex = i;
  }
  if (!ancestor) {
    if (receiver.length === 0) return 'initial';
    throw new PlanningError(
      'no-common-ancestor',
      filesystem,
      `no common snapshot: the receiver has ${versionList(receiver)}, the sender has ` +
        `${versionList(senderSnapshots)} and none share a guid; the receiver's data does not ` +
        'come from this sender: rename or destroy it on the receiver to replicate anew',
    );
  }
  const newer = receiver.slice(ancestorIndex + 1);
  if (newer.length > 0) {
    throw new PlanningError(
      'diverged',
      filesystem,
      `the receiver has diverged: after the common snapshot ${versionLabel(ancestor)} it has ` +
        `${versionList(newer)}, which the sender does not have; roll the receiver back to ` +
        `${versionLabel(ancestor)} (zfs rollback -r) to continue`,
    );
  }
  const ancestorTxg = BigInt(ancestor.createTxg);
  return [ancestor, ...senderSnapshots.filter((v) => BigInt(v.createTxg) > ancestorTxg)];
}

/** One transfer per consecutive pair of `path` (none when the newest is already present). */
export function transfersAlong(path: readonly FilesystemVersion[]): Transfer[] {
  return path.slice(1).map((to, i) => ({ from: path[i] as FilesystemVersion, to }));
}

/** Initial replication of `senderVersions` by `policy`; throws when the policy is `fail`. */
export function initialTransfers(
  filesystem: string,
  senderVersions: readonly FilesystemVersion[],
  policy: InitialPolicy,
): Transfer[] {
  const snapshots = sortVersions(senderVersions.filter((v) => v.type === 'snapshot'));
  const oldest = snapshots[0];
  const newest = snapshots.at(-1);
  if (!oldest || !newest) {
    throw new PlanningError(
      'no-sender-snapshots',
      filesystem,
      'the sender has no snapshots of it; take a snapshot first',
    );
  }
  switch (policy) {
    case 'most-recent':
      return [{ to: newest }];
    case 'all':
      return [{ to: oldest }, ...transfersAlong(snapshots)];
    case 'fail':
      throw new PlanningError(
        'initial-replication-disabled',
        filesystem,
        `it needs an initial replication (the receiver has no snapshots; the sender's newest is ` +
          `${versionLabel(newest)}) and the initial replication policy is "fail"`,
      );
  }
}

/** The transfers of a filesystem without a resume token: incremental, else initial by policy. */
export function planTransfers(
  filesystem: string,
  senderVersions: readonly FilesystemVersion[],
  receiverVersions: readonly FilesystemVersion[],
  policy: InitialPolicy,
): Transfer[] {
  const path = incrementalPath(filesystem, senderVersions, receiverVersions);
  return path === 'initial'
    ? initialTransfers(filesystem, senderVersions, policy)
    : transfersAlong(path);
}
