/**
 * Planning the continuation of an interrupted receive. The receiver reads its own resume token
 * (`EndpointFilesystem.resume`: each backend knows its format); the planner only looks the
 * token's guids up on the sender.
 */
import type { EndpointFilesystem, FilesystemVersion } from '../endpoints/types.js';
import { StaleResumeTokenError } from '../endpoints/stale-resume-token.js';
import { PlanningError } from './errors.js';
import { transfersAlong, type Transfer } from './incremental.js';
import { sortVersions, versionLabel } from './versions.js';

/**
 * What to do with a resume token whose snapshot is gone from the sender: `fail` (the default)
 * with an error naming the command that discards it, or `clear`: plan as if there were none,
 * and the next receive discards the partial state first.
 */
export type StaleResumeTokenPolicy = 'fail' | 'clear';

/** The receiver filesystem's resume token with the receiver's reading of it. */
export type ResumableFilesystem = EndpointFilesystem & { resumeToken: string };

/**
 * The resumed transfer (its from/to are the token's guids, looked up on the sender), then
 * incrementals over the sender's later snapshots. Undefined when the token is stale and the
 * policy is `clear`: the caller plans as if there were no token. Throws PlanningError when the
 * receiver could not read its token, StaleResumeTokenError when it is stale and the policy is
 * `fail`.
 */
export function resumeTransfers(
  receiverFS: ResumableFilesystem,
  senderVersions: readonly FilesystemVersion[],
  policy: StaleResumeTokenPolicy = 'fail',
): Transfer[] | undefined {
  const filesystem = receiverFS.path;
  const info = receiverFS.resume;
  if (info === undefined) {
    throw new PlanningError(
      'resume-token-invalid',
      filesystem,
      'the receiver cannot read the resume token of its interrupted receive; discard the ' +
        'partial receive state on the receiver (zfs recv -A <dataset>)',
    );
  }
  const sender = sortVersions(senderVersions);
  const to = sender.find((v) => v.type === 'snapshot' && v.guid === info.toGuid);
  const fromGuid = info.fromGuid;
  const from =
    fromGuid === undefined
      ? undefined
      : (sender.find((v) => v.guid === fromGuid && v.type === 'snapshot') ??
        sender.find((v) => v.guid === fromGuid));
  const missing = !to
    ? `${info.toName ?? 'the target snapshot'} (guid ${info.toGuid})`
    : fromGuid !== undefined && !from
      ? `the incremental source of ${versionLabel(to)} (guid ${fromGuid})`
      : undefined;
  if (missing !== undefined || !to) {
    if (policy === 'clear') return undefined;
    const clear = info.clearCommand ?? 'zfs recv -A <dataset>';
    throw new StaleResumeTokenError(
      filesystem,
      `cannot replicate ${filesystem}: its interrupted receive cannot be resumed: ${missing} no ` +
        `longer exists on the sender; discard the partial receive state on the receiver ` +
        `(${clear}), or replicate with --on-stale-resume-token clear`,
    );
  }
  const toTxg = BigInt(to.createTxg);
  const later = sender.filter((v) => v.type === 'snapshot' && BigInt(v.createTxg) > toTxg);
  return [
    { ...(from && { from }), to, resumeToken: receiverFS.resumeToken },
    ...transfersAlong([to, ...later]),
  ];
}
