/**
 * Pruning one side of a job: plan every dataset, then (unless dry) destroy what the plan lets
 * go, one `zfs destroy fs@a,b,c` per dataset, a few datasets at once.
 */
import type { KeepRule } from '../config.js';
import type { LocalZfs, SnapshotInfo } from '../zfs-local.js';
import { planPrune, type Verdict } from './plan.js';

export interface DatasetPrune {
  dataset: string;
  verdicts: Verdict[];
}

export interface PruneResult {
  side: 'sender' | 'receiver';
  datasets: DatasetPrune[];
  /** Snapshots destroyed (0 on a dry run). */
  destroyed: number;
}

export interface PruneSideOptions {
  side: 'sender' | 'receiver';
  zfs: LocalZfs;
  /** Each dataset to prune with its snapshots. */
  snapshots: ReadonlyMap<string, readonly SnapshotInfo[]>;
  rules: readonly KeepRule[];
  /** The other side's guids per dataset of this side; undefined for a job without one. */
  otherSide?: (dataset: string) => ReadonlySet<string>;
  now: Date;
  dryRun: boolean;
  signal: AbortSignal;
  /** Datasets destroyed in at once (default 4). */
  concurrency?: number;
}

/** Plans (and unless `dryRun`, carries out) the pruning of one side. */
export async function pruneSide(options: PruneSideOptions): Promise<PruneResult> {
  const datasets: DatasetPrune[] = [];
  for (const [dataset, snapshots] of options.snapshots) {
    datasets.push({
      dataset,
      verdicts: planPrune({
        side: options.side,
        snapshots,
        rules: options.rules,
        ...(options.otherSide === undefined ? {} : { otherSide: options.otherSide(dataset) }),
        now: options.now,
      }),
    });
  }
  let destroyed = 0;
  if (!options.dryRun) {
    const queue = datasets.filter((d) => d.verdicts.some((v) => v.destroy));
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        options.signal.throwIfAborted();
        const names = next.verdicts.filter((v) => v.destroy).map((v) => v.name);
        await options.zfs.destroy(next.dataset, names, options.signal);
        destroyed += names.length;
      }
    };
    const n = Math.max(1, Math.min(options.concurrency ?? 4, queue.length));
    await Promise.all(Array.from({ length: n }, worker));
  }
  return { side: options.side, datasets, destroyed };
}

/** The plan as lines: `dataset@name  keep|DESTROY  reason`. */
export function formatPrune(result: PruneResult): string[] {
  const lines: string[] = [];
  for (const { dataset, verdicts } of result.datasets) {
    for (const v of verdicts) {
      lines.push(
        `${result.side}  ${dataset}@${v.name}  ${v.destroy ? 'destroy' : 'keep'}  ${v.reason}`,
      );
    }
  }
  return lines;
}
