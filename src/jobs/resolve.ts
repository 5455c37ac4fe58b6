/** What a job selects on the real pools (`xrepl check`, and every snapshot and prune run). */
import type { LocalZfs } from './zfs-local.js';
import { poolOfSelection, selectionOf, type Selection } from './selection.js';

export interface Resolved {
  /** The datasets the job works on, parents first. */
  selected: string[];
  /** Datasets of the pools that the selection leaves out, with the deciding pattern if any. */
  excluded: { dataset: string; by: string | undefined }[];
}

/** Lists each pool the patterns touch and applies the selection. */
export async function resolveSelection(
  patterns: Readonly<Record<string, boolean>>,
  zfs: LocalZfs,
  signal: AbortSignal,
): Promise<Resolved> {
  const selection: Selection = selectionOf(patterns);
  const resolved: Resolved = { selected: [], excluded: [] };
  for (const pool of poolOfSelection(selection)) {
    for (const dataset of await zfs.datasets(pool, signal)) {
      if (selection.selects(dataset)) resolved.selected.push(dataset);
      else {
        const rule = selection.ruleFor(dataset);
        resolved.excluded.push({
          dataset,
          by: rule === undefined ? undefined : `${rule.dataset}${rule.subtree ? '<' : ''}`,
        });
      }
    }
  }
  return resolved;
}
