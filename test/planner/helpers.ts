/** Shared helpers of the planner tests: versions for tables, and running a plan by hand. */
import type { FilesystemVersion } from '../../src/endpoints/types.js';
import type { Planner } from '../../src/driver/types.js';
import type { MemoryPool } from '../../src/endpoints/memory/index.js';

/** A version for table tests: guid defaults to `g-<name>`, creation to txg seconds after 2024. */
export function v(
  name: string,
  txg: number | string,
  guid = `g-${name}`,
  type: 'snapshot' | 'bookmark' = 'snapshot',
): FilesystemVersion {
  return {
    type,
    name,
    guid,
    createTxg: String(txg),
    creation: new Date(Date.UTC(2024, 0, 1) + Number(txg) * 1000),
  };
}

export const bm = (name: string, txg: number | string, guid = `g-${name}`): FilesystemVersion =>
  v(name, txg, guid, 'bookmark');

/** Plans every filesystem and runs its steps in order (parents first, as the sender lists them). */
export async function replicateByHand(
  planner: Planner,
  signal = new AbortController().signal,
): Promise<Map<string, string[]>> {
  const done = new Map<string, string[]>();
  for (const fs of await planner.plan(signal)) {
    const steps = await fs.planFS(signal);
    for (const step of steps) await step.step(signal);
    done.set(
      fs.reportInfo().name,
      steps.map((s) => `${s.reportInfo().from}->${s.reportInfo().to}`),
    );
  }
  return done;
}

/** Snapshot guids of `path` in `pool`, oldest first ([] when it does not exist). */
export function guids(pool: MemoryPool, path: string): string[] {
  return pool.get(path)?.snapshots.map((s) => s.guid) ?? [];
}
