/**
 * User holds and the replication cursor (OpenZFS; zrepl's design in xrepl's names), which keep
 * the incremental base of the next run from being pruned away:
 *
 * - step holds `xrepl_step_<job>` on the sender's `from` and `to` while a step runs;
 * - the cursor bookmark `fs#xrepl_cursor_<job>_<guid>` on the last snapshot the receiver got,
 *   the incremental source once that snapshot is pruned on the sender;
 * - the last-received hold `xrepl_last_received_<job>` on the receiver's newest snapshot.
 *
 * Each helper takes full dataset names; "no such tag" and "tag already exists" are success:
 * the state asked for is the state reached.
 */
import { errorMessage } from '../../errors/classify.js';
import { StalePlanError } from '../../errors/stale-plan.js';
import { ZfsError } from './errors.js';
import type { ZfsExec } from './exec.js';

/** The default job name, when none is given. */
export const DEFAULT_JOB = 'default';

/** Why `job` cannot name holds and bookmarks, or undefined. */
export function jobNameProblem(job: string): string | undefined {
  if (typeof job !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(job)) {
    return 'use 1 to 64 letters, digits, _ . : -, starting with a letter or digit';
  }
  return undefined;
}

export const stepHoldTag = (job: string): string => `xrepl_step_${job}`;
export const lastReceivedHoldTag = (job: string): string => `xrepl_last_received_${job}`;
export const cursorName = (job: string, guid: string): string => `xrepl_cursor_${job}_${guid}`;

/** True when `name` (after `#`) is a cursor bookmark of `job`. */
export function isCursorOf(job: string, name: string): boolean {
  const prefix = `xrepl_cursor_${job}_`;
  return name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length));
}

function said(err: unknown, pattern: RegExp): boolean {
  return err instanceof ZfsError && pattern.test(err.stderr);
}

/**
 * `zfs hold tag snapshot`, one snapshot a command; already held by `tag` is fine. A snapshot
 * that does not exist (any more) is a stale plan (D13): it was there when the step was planned.
 */
export async function hold(
  exec: ZfsExec,
  tag: string,
  snapshots: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  for (const snapshot of snapshots) {
    try {
      await exec.run('zfs', ['hold', tag, snapshot], signal);
    } catch (err) {
      if (said(err, /tag already exists/)) continue;
      if (said(err, /does not exist/)) {
        throw new StalePlanError(`${errorMessage(err)} (destroyed since planning?)`, {
          cause: err,
        });
      }
      throw err;
    }
  }
}

/** `zfs release tag snapshot`, one snapshot a command; not held by `tag` is fine. */
export async function release(
  exec: ZfsExec,
  tag: string,
  snapshots: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  for (const snapshot of snapshots) {
    try {
      await exec.run('zfs', ['release', tag, snapshot], signal);
    } catch (err) {
      if (!said(err, /no such tag|dataset does not exist/)) throw err;
    }
  }
}

/**
 * Releases `tag` wherever `zfs holds -H` lists it on `snapshots` (those with holds at all);
 * one listing command, then one release per snapshot holding it.
 */
export async function releaseEverywhere(
  exec: ZfsExec,
  tag: string,
  snapshots: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  if (snapshots.length === 0) return [];
  const { stdout } = await exec.run('zfs', ['holds', '-H', ...snapshots], signal);
  const held = stdout
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([name, t]) => name !== undefined && t === tag)
    .map(([name]) => name as string);
  await release(exec, tag, held, signal);
  return held;
}

/** `zfs bookmark snapshot bookmark`; an existing bookmark of that name is fine. */
export async function bookmark(
  exec: ZfsExec,
  snapshot: string,
  name: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    await exec.run('zfs', ['bookmark', snapshot, name], signal);
  } catch (err) {
    if (!said(err, /bookmark exists/)) throw err;
  }
}
