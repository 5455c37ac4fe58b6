/**
 * Placeholders: filesystems a receiver creates only so that a child has a parent
 * (`xrepl:placeholder=on`, `canmount=off` so they are never mounted and never "modified").
 * A later full receive into a placeholder replaces it (`recv -F`) and clears the mark, but
 * only while it holds no data of its own (assertPlaceholderEmpty): -F would destroy it.
 */
import { joinRoot } from '../paths.js';
import type { ZfsContext } from './context.js';
import { isDatasetMissing } from './errors.js';
import { PLACEHOLDER_PROPERTY } from './list.js';

/** The `referenced` size of a placeholder when it was created, empty (bytes). */
export const PLACEHOLDER_SIZE_PROPERTY = 'xrepl:placeholder-referenced';

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
    await recordEmptySize(ctx, dataset, signal);
  }
}

/** Remembers the size of the new, empty placeholder `dataset`: data written later shows. */
async function recordEmptySize(
  ctx: ZfsContext,
  dataset: string,
  signal: AbortSignal,
): Promise<void> {
  const { stdout } = await ctx.exec.run(
    'zfs',
    ['get', '-Hp', '-o', 'value', 'referenced', dataset],
    signal,
  );
  const size = stdout.trim();
  if (!/^\d+$/.test(size)) return; // unexpected: assertPlaceholderEmpty then relies on canmount
  await ctx.exec.run('zfs', ['set', `${PLACEHOLDER_SIZE_PROPERTY}=${size}`, dataset], signal);
}

/** Why the placeholder `dataset` may hold data of its own, or undefined when it cannot. */
export function placeholderDataProblem(values: ReadonlyMap<string, string>): string | undefined {
  if (values.get('mounted') === 'yes') return 'it is mounted';
  const canmount = values.get('canmount');
  if (canmount !== 'off')
    return `canmount is ${canmount ?? 'unknown'}, so files may have been written`;
  const empty = values.get(PLACEHOLDER_SIZE_PROPERTY);
  const referenced = values.get('referenced');
  if (empty !== undefined && /^\d+$/.test(empty) && referenced !== undefined) {
    if (!/^\d+$/.test(referenced) || BigInt(referenced) > BigInt(empty)) {
      return `it references ${referenced} bytes, ${empty} when it was created empty`;
    }
  }
  return undefined;
}

async function dataProblem(
  ctx: ZfsContext,
  dataset: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  const properties = ['mounted', 'canmount', 'referenced', PLACEHOLDER_SIZE_PROPERTY];
  const { stdout } = await ctx.exec.run(
    'zfs',
    ['get', '-Hp', '-o', 'property,value', properties.join(','), dataset],
    signal,
  );
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) values.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return placeholderDataProblem(values);
}

/**
 * Throws a clear error naming `dataset` unless the placeholder still holds no data of its own:
 * never mounted (canmount still off, not mounted) and no larger than when it was created.
 */
export async function assertPlaceholderEmpty(
  ctx: ZfsContext,
  dataset: string,
  signal: AbortSignal,
): Promise<void> {
  const problem = await dataProblem(ctx, dataset, signal);
  if (problem === undefined) return;
  throw new Error(
    `refusing to replace placeholder ${dataset} with a full receive: it may hold data of its ` +
      `own (${problem}), which zfs recv -F would destroy; copy what you need, then destroy ` +
      `it or make it an empty placeholder again`,
  );
}

/**
 * The placeholder rule for the receiver's root (which the user created, so xrepl never recorded
 * its empty size): a full receive replaces it only when it has no snapshots (the caller checks)
 * and could not have been written to: not mounted and `canmount=off`. Else a clear error.
 */
export async function assertRootReplaceable(ctx: ZfsContext, signal: AbortSignal): Promise<void> {
  const problem = await dataProblem(ctx, ctx.root, signal);
  if (problem === undefined) return;
  throw new Error(
    `refusing to replace the receiver's root ${ctx.root} with a full receive of the sender's ` +
      `root: it may hold data of its own (${problem}), which zfs recv -F would destroy. If it ` +
      `holds nothing, unmount it and set canmount=off (zfs unmount ${ctx.root}; zfs set ` +
      `canmount=off ${ctx.root}); else receive into a new, empty root (zfs create -o ` +
      `canmount=off DATASET) or leave the sender's root out of the selection`,
  );
}

/**
 * Turns the former placeholder `dataset` (now holding a received snapshot) into a normal one.
 * `canmount`: the value to set instead of the placeholder's `off`, or undefined when the
 * receive has set it already (recv -o, or the property policy right after).
 */
export async function clearPlaceholder(
  ctx: ZfsContext,
  dataset: string,
  signal: AbortSignal,
  canmount: 'on' | undefined,
): Promise<void> {
  await ctx.exec.run('zfs', ['inherit', PLACEHOLDER_PROPERTY, dataset], signal);
  await ctx.exec.run('zfs', ['inherit', PLACEHOLDER_SIZE_PROPERTY, dataset], signal);
  // canmount cannot be inherited (zfs-fuse refuses); `on` is the default. It does not mount.
  if (canmount !== undefined)
    await ctx.exec.run('zfs', ['set', `canmount=${canmount}`, dataset], signal);
}
