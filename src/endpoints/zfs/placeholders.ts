/**
 * Placeholders: filesystems a receiver creates only so that a child has a parent
 * (`xrepl:placeholder=on`, `canmount=off` so they are never mounted and never "modified").
 * A later full receive into a placeholder replaces it (`recv -F`) and clears the mark.
 */
import { joinRoot } from '../paths.js';
import type { ZfsContext } from './context.js';
import { isDatasetMissing } from './errors.js';
import { PLACEHOLDER_PROPERTY } from './list.js';

/** argv creating the placeholder `dataset`. */
export function createPlaceholderArgs(dataset: string): string[] {
  return ['create', '-o', `${PLACEHOLDER_PROPERTY}=on`, '-o', 'canmount=off', dataset];
}

async function exists(ctx: ZfsContext, dataset: string, signal: AbortSignal): Promise<boolean> {
  try {
    await ctx.exec.run('zfs', ['list', '-H', '-o', 'name', dataset], signal);
    return true;
  } catch (err) {
    if (isDatasetMissing(err)) return false;
    throw err;
  }
}

/**
 * Creates the missing ancestors of the root-relative `fs` (strictly between the root and `fs`)
 * as placeholders. The root itself must exist: a receiver creates nothing outside it.
 */
export async function ensureParents(
  ctx: ZfsContext,
  fs: string,
  signal: AbortSignal,
): Promise<void> {
  const parts = fs.split('/');
  const ancestors = parts
    .slice(0, -1)
    .map((_, i) => joinRoot(ctx.root, parts.slice(0, i + 1).join('/')));
  // Usually the parent exists: one command. Else walk up to the deepest existing ancestor.
  let missingFrom = ancestors.length;
  while (missingFrom > 0 && !(await exists(ctx, ancestors[missingFrom - 1] as string, signal))) {
    missingFrom--;
  }
  if (missingFrom === 0 && !(await exists(ctx, ctx.root, signal))) {
    throw new Error(
      `receiver root ${ctx.root} does not exist; create it (zfs create -p ${ctx.root})`,
    );
  }
  for (const dataset of ancestors.slice(missingFrom)) {
    try {
      await ctx.exec.run('zfs', createPlaceholderArgs(dataset), signal);
    } catch (err) {
      // A concurrent receive may have created it a moment ago: that is fine.
      if (await exists(ctx, dataset, signal)) continue;
      throw new Error(`cannot create placeholder ${dataset} for ${fs}`, { cause: err });
    }
  }
}

/** Turns the former placeholder `dataset` (now holding a received snapshot) into a normal one. */
export async function clearPlaceholder(
  ctx: ZfsContext,
  dataset: string,
  signal: AbortSignal,
): Promise<void> {
  await ctx.exec.run('zfs', ['inherit', PLACEHOLDER_PROPERTY, dataset], signal);
  // canmount cannot be inherited (zfs-fuse refuses); `on` is the default. It does not mount.
  await ctx.exec.run('zfs', ['set', 'canmount=on', dataset], signal);
}
