/**
 * What a receiver checks before it destroys a snapshot a client asked it to (every backend the
 * same way): it must still be the snapshot asked for (same guid), not held, and not the
 * filesystem's newest snapshot, which the next incremental starts from.
 */
import type { DestroySnapshotsReq, DestroySnapshotsResult } from './types.js';

export interface GuardedSnapshot {
  name: string;
  guid: string;
  createTxg: string;
  /** `zfs hold` count; 0 where the pool has no holds. */
  holds: number;
}

/** Splits the request into what may go and what stays (with why), given the filesystem's snapshots. */
export function guardDestroy(
  req: DestroySnapshotsReq,
  present: readonly GuardedSnapshot[],
): DestroySnapshotsResult {
  const byName = new Map(present.map((s) => [s.name, s]));
  let newest: GuardedSnapshot | undefined;
  for (const s of present) {
    if (newest === undefined || BigInt(s.createTxg) > BigInt(newest.createTxg)) newest = s;
  }
  const result: DestroySnapshotsResult = { destroyed: [], kept: [] };
  const seen = new Set<string>();
  for (const { name, guid } of req.snapshots) {
    if (seen.has(name)) continue;
    seen.add(name);
    const found = byName.get(name);
    if (found === undefined) result.kept.push({ name, reason: 'no such snapshot' });
    else if (found.guid !== guid) {
      result.kept.push({ name, reason: 'replaced since it was listed (another guid)' });
    } else if (found.holds > 0) result.kept.push({ name, reason: `held (${found.holds})` });
    else if (found === newest) {
      result.kept.push({ name, reason: 'the newest snapshot (the next incremental starts there)' });
    } else result.destroyed.push(name);
  }
  return result;
}
