/**
 * Destroying snapshots: one `zfs destroy fs@a,b,c` per filesystem (OpenZFS), one snapshot a
 * command where zfs knows no comma list (zfs-fuse). Used by the jobs' local pruning and by a
 * zfs receiver that lets clients prune it; both decide what may go before calling this.
 */
import { guardDestroy } from '../prune-guard.js';
import { assertFilesystemPath, joinRoot } from '../paths.js';
import type { DestroySnapshotsReq, DestroySnapshotsResult } from '../types.js';
import type { ZfsContext } from './context.js';
import type { ZfsExec } from './exec.js';

/** `zfs destroy` of `dataset@name` for every name; learns zfs-fuse's limit in `legacy`. */
export async function destroySnapshots(
  exec: ZfsExec,
  dataset: string,
  names: readonly string[],
  signal: AbortSignal,
  legacy: { destroy: boolean } = { destroy: false },
): Promise<void> {
  if (names.length === 0) return;
  if (!legacy.destroy || names.length === 1) {
    try {
      await exec.run('zfs', ['destroy', `${dataset}@${names.join(',')}`], signal);
      return;
    } catch (err) {
      if (!/invalid dataset name/.test((err as Error).message)) throw err;
      legacy.destroy = true;
    }
  }
  // zfs-fuse knows no `fs@a,b,c`: one destroy a snapshot.
  for (const one of names) await exec.run('zfs', ['destroy', `${dataset}@${one}`], signal);
}

/**
 * A client's prune of `req.filesystem` below the receiver's root: lists its snapshots (with
 * holds where the pool has them), keeps what guardDestroy keeps, destroys the rest.
 */
export async function destroyForClient(
  ctx: ZfsContext,
  req: DestroySnapshotsReq,
  signal: AbortSignal,
  legacy: { destroy: boolean },
): Promise<DestroySnapshotsResult> {
  assertFilesystemPath(req.filesystem);
  const target = joinRoot(ctx.root, req.filesystem);
  const records = await ctx.list(target, signal, 1);
  if (records === undefined) {
    throw new Error(
      `filesystem ${JSON.stringify(req.filesystem)} does not exist (zfs dataset ${target})`,
    );
  }
  const present = records
    .filter((r) => r.type === 'snapshot' && r.name.startsWith(`${target}@`))
    .map((r) => ({
      name: r.name.slice(target.length + 1),
      guid: r.guid,
      createTxg: r.createTxg,
      holds: r.userrefs ?? 0,
    }));
  const result = guardDestroy(req, present);
  if (!req.dryRun) await destroySnapshots(ctx.exec, target, result.destroyed, signal, legacy);
  return result;
}
