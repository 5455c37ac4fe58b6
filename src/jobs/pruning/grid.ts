/**
 * The grid keep rule (zrepl's grammar): `1x1h(keep=all) | 24x1h | 14x1d`, intervals newest
 * first. `NxD` is N buckets of duration D laid end to end going back from now; in a
 * `(keep=all)` interval every snapshot stays, otherwise the oldest snapshot of each bucket.
 * Snapshots older than the whole grid, or newer than now, are not kept by the grid.
 */
import { durationMs } from '../duration.js';

export interface GridInterval {
  count: number;
  lengthMs: number;
  keepAll: boolean;
  /** As written, e.g. `24x1h`. */
  text: string;
}

const INTERVAL = /^(\d+)\s*x\s*(\w+)\s*(\(\s*keep\s*=\s*all\s*\))?$/;

/** The intervals of `text`, or an Error saying which part is wrong. */
export function parseGrid(text: string): GridInterval[] {
  const intervals: GridInterval[] = [];
  for (const part of text.split('|')) {
    const item = part.trim();
    const m = INTERVAL.exec(item);
    const lengthMs = m === null ? undefined : durationMs(m[2] ?? '');
    const count = Number(m?.[1]);
    if (m === null || lengthMs === undefined || !Number.isSafeInteger(count) || count < 1) {
      throw new Error(
        `grid interval ${JSON.stringify(item)} is not NxDURATION (e.g. 24x1h, 1x1h(keep=all))`,
      );
    }
    intervals.push({ count, lengthMs, keepAll: m[3] !== undefined, text: item });
  }
  return intervals;
}

export interface Dated {
  name: string;
  creation: Date;
}

/**
 * The names the grid keeps among `snapshots`, with the bucket that kept each
 * (`interval i, bucket j`). A bucket covers (end - length, end]: a snapshot exactly on a
 * bucket's older edge belongs to the next older bucket.
 */
export function gridKeeps(
  intervals: readonly GridInterval[],
  snapshots: readonly Dated[],
  now: Date,
): Map<string, string> {
  const kept = new Map<string, string>();
  // Oldest first, so the first one seen in a bucket is its oldest.
  const sorted = [...snapshots].sort((a, b) => a.creation.getTime() - b.creation.getTime());
  const oldestInBucket = new Map<string, Dated>();
  for (const snapshot of sorted) {
    const age = now.getTime() - snapshot.creation.getTime();
    if (age < 0) continue;
    let start = 0;
    for (const [i, interval] of intervals.entries()) {
      const span = interval.count * interval.lengthMs;
      if (age < start + span) {
        const bucket = Math.floor((age - start) / interval.lengthMs);
        const label = `${interval.text} bucket ${bucket + 1} (interval ${i + 1})`;
        if (interval.keepAll) kept.set(snapshot.name, label);
        else if (!oldestInBucket.has(`${i}/${bucket}`)) {
          oldestInBucket.set(`${i}/${bucket}`, snapshot);
          kept.set(snapshot.name, label);
        }
        break;
      }
      start += span;
    }
  }
  return kept;
}
