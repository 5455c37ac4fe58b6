/** Planning the continuation of an interrupted receive from the receiver's resume token. */
import type { FilesystemVersion } from '../endpoints/types.js';
import { PlanningError } from './errors.js';
import { transfersAlong, type Transfer } from './incremental.js';
import { sortVersions, versionLabel } from './versions.js';

/** What the planner needs to know of a resume token: the guids of the interrupted send. */
export interface ResumeTokenInfo {
  fromGuid?: string;
  toGuid: string;
}

/** Reads a resume token of the receiver's backend; throws when it cannot. */
export type ResumeTokenParser = (token: string) => ResumeTokenInfo;

/**
 * The resumed transfer (its from/to are the token's guids, looked up on the sender), then
 * incrementals over the sender's later snapshots. Throws PlanningError when the token cannot
 * be read or its versions are gone from the sender.
 */
export function resumeTransfers(
  filesystem: string,
  token: string,
  parse: ResumeTokenParser,
  senderVersions: readonly FilesystemVersion[],
): Transfer[] {
  let info: ResumeTokenInfo;
  try {
    info = parse(token);
  } catch (cause) {
    throw new PlanningError(
      'resume-token-invalid',
      filesystem,
      'cannot read the resume token of its interrupted receive; clear the partial receive state on the receiver (zfs recv -A)',
      { cause },
    );
  }
  const sender = sortVersions(senderVersions);
  const missing = (what: string, guid: string): PlanningError =>
    new PlanningError(
      'resume-version-missing',
      filesystem,
      `cannot resume its interrupted receive: the ${what} (guid ${guid}) no longer exists on the ` +
        'sender; clear the partial receive state on the receiver (zfs recv -A)',
    );
  const to = sender.find((v) => v.type === 'snapshot' && v.guid === info.toGuid);
  if (!to) throw missing('target snapshot', info.toGuid);
  let from: FilesystemVersion | undefined;
  if (info.fromGuid !== undefined) {
    const guid = info.fromGuid;
    from =
      sender.find((v) => v.guid === guid && v.type === 'snapshot') ??
      sender.find((v) => v.guid === guid);
    if (!from) throw missing(`incremental source of ${versionLabel(to)}`, guid);
  }
  const toTxg = BigInt(to.createTxg);
  const later = sender.filter((v) => v.type === 'snapshot' && BigInt(v.createTxg) > toTxg);
  return [{ ...(from && { from }), to, resumeToken: token }, ...transfersAlong([to, ...later])];
}
