/**
 * The receiving side of the zfs CLI backend (`zfs:<root>`): `zfs recv -u` below its root,
 * placeholders for missing parents, nothing left behind by a failed receive, and no stream
 * property that reaches outside the root (property-policy.ts).
 */
import type { Readable } from 'node:stream';
import type { PrunableReceiver, ReceiveReq } from '../types.js';
import { assertFilesystemPath, joinRoot } from '../paths.js';
import { assertVersionName, recvArgs } from './args.js';
import { destroyForClient } from './destroy.js';
import { zfsContext, type ZfsContext, type ZfsEndpointOptions } from './context.js';
import type { DatasetRecord } from './list.js';
import { hold, lastReceivedHoldTag, release } from './holds.js';
import {
  assertPlaceholderEmpty,
  assertRootReplaceable,
  clearPlaceholder,
  ensureParents,
} from './placeholders.js';
import { pollUntil } from './poll.js';
import {
  assertNoStreamProperties,
  CONFINED_PROPERTIES,
  setPropertyCommands,
} from './property-policy.js';
import { destroyAndSettle, pipeIntoRecv } from './recv-pipe.js';
import { peekStreamHeader } from './stream-header.js';

/** Bound on waiting for zfs-fuse's daemon to discard a killed receive (see discarded()). */
const DISCARD_TIMEOUT_MS = 10_000;

function hasSnapshots(records: readonly DatasetRecord[], target: string): boolean {
  return records.some((r) => r.type === 'snapshot' && r.name.startsWith(`${target}@`));
}

/**
 * After a failed receive into a new filesystem: true once zfs has discarded the partial
 * dataset. zfs removes it before `zfs recv` exits, except on zfs-fuse when the client was
 * killed: the daemon finishes on its own a moment later, hence the bounded poll.
 */
async function discarded(ctx: ZfsContext, target: string, signal: AbortSignal): Promise<boolean> {
  return pollUntil(
    async () => {
      const records = await ctx.list(target, signal, 1);
      const fs = records?.find((r) => r.name === target);
      // A placeholder there was made by a concurrent receive of a child, not by ours.
      return fs === undefined || fs.placeholder || hasSnapshots(records ?? [], target);
    },
    { timeoutMs: DISCARD_TIMEOUT_MS, signal },
  );
}

/** How a receiver treats what it receives (its options, validated). */
interface ReceivePolicy {
  trusted: boolean;
  recvSet: Readonly<Record<string, string>>;
  recvExclude: readonly string[];
}

/** Throws a clear error unless every name and value can go into `zfs recv -o` / `-x`. */
function assertRecvProperties(set: Record<string, string>, exclude: readonly string[]): void {
  for (const name of [...Object.keys(set), ...exclude]) {
    if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_.:-]{0,255}$/.test(name)) {
      throw new Error(`invalid property name ${JSON.stringify(name)} for zfs recv -o/-x`);
    }
  }
  for (const [name, value] of Object.entries(set)) {
    // eslint-disable-next-line no-control-regex
    if (typeof value !== 'string' || /[\u0000-\u001f\u007f]/.test(value)) {
      throw new Error(`invalid value for property ${name}: a string without control characters`);
    }
  }
}

/**
 * After a receive: the last-received hold on the new snapshot, released from the older ones
 * that have holds (so a pruner on the receiver cannot delete the next incremental's base).
 */
async function moveLastReceivedHold(
  ctx: ZfsContext,
  target: string,
  to: string,
  before: readonly DatasetRecord[],
  signal: AbortSignal,
): Promise<void> {
  const tag = lastReceivedHoldTag(ctx.job);
  await hold(ctx.exec, tag, [`${target}@${to}`], signal);
  const older = before
    .filter(
      (r) => r.type === 'snapshot' && r.name.startsWith(`${target}@`) && (r.userrefs ?? 0) > 0,
    )
    .map((r) => r.name);
  await release(ctx.exec, tag, older, signal);
}

async function receiveInto(
  ctx: ZfsContext,
  req: ReceiveReq,
  stream: Readable,
  signal: AbortSignal,
  policy: ReceivePolicy,
): Promise<void> {
  const { trusted } = policy;
  assertFilesystemPath(req.filesystem);
  assertVersionName(req.to, 'snapshot name');
  signal.throwIfAborted();
  const target = joinRoot(ctx.root, req.filesystem);
  // Before any command: a stream whose properties could escape the root changes nothing.
  if (!trusted) assertNoStreamProperties(await peekStreamHeader(stream, signal), target);
  const caps = await ctx.capabilities(signal);
  const overrides = Object.keys(policy.recvSet).length > 0 || policy.recvExclude.length > 0;
  if (overrides && !caps.recvProperties) {
    const which = Object.keys(policy.recvSet).length > 0 ? '-o' : '-x';
    throw new Error(
      `zfs recv ${which} is not supported here: pool version ${caps.poolVersion} (zfs-fuse's ` +
        'zfs recv sets and excludes no properties); receive without recvSet and recvExclude',
    );
  }
  let before = (await ctx.list(target, signal, 1)) ?? [];
  const partial = before.find((r) => r.name === target)?.resumeToken !== undefined;
  if (req.clearResumeToken && partial && caps.resumeTokens) {
    // Discards the partial receive (an interrupted full receive: the whole new filesystem), so
    // what follows sees the receiver as it was before it began.
    await ctx.exec.run('zfs', ['recv', '-A', target], signal);
    before = (await ctx.list(target, signal, 1)) ?? [];
  }
  const existing = before.find((r) => r.name === target);
  // -F only into a placeholder without snapshots or data of its own: only -F may replace it.
  // The root (path "") always exists, so its first receive needs -F too, under the same rule.
  // Anywhere else zfs must refuse a modified or diverged destination.
  const root = req.filesystem === '';
  const force =
    existing !== undefined && (existing.placeholder || root) && !hasSnapshots(before, target);
  if (force && existing.placeholder) await assertPlaceholderEmpty(ctx, target, signal);
  else if (force) await assertRootReplaceable(ctx, signal);
  if (existing === undefined) await ensureParents(ctx, req.filesystem, signal);
  // A full receive creates the filesystem (or replaces a placeholder): it gets the policy's
  // properties, by the receive itself where zfs recv has -o, else right after it.
  const creates = existing === undefined || force;
  const confine = creates && !trusted;
  const properties = {
    ...(confine && caps.recvProperties && CONFINED_PROPERTIES),
    ...policy.recvSet, // the administrator's overrides win
  };
  const args = recvArgs(target, req.to, {
    force,
    resumable: caps.resumeTokens,
    properties,
    exclude: policy.recvExclude,
  });
  const proc = ctx.exec.start('zfs', args);
  try {
    await pipeIntoRecv(proc, stream, signal);
  } catch (err) {
    const partialKept = caps.resumeTokens; // -s keeps it on purpose, for resuming
    if (existing === undefined && !partialKept) {
      // Even after an abort: the receiver must be consistent before we report.
      const settle = AbortSignal.timeout(2 * DISCARD_TIMEOUT_MS);
      const clean = await discarded(ctx, target, settle).catch(() => false);
      if (!clean) {
        throw new Error(
          `receive into ${target} failed and a partial ${target} remains; destroy it (zfs destroy ${target})`,
          { cause: err },
        );
      }
    }
    throw err;
  }
  if (confine) {
    for (const set of setPropertyCommands(caps, CONFINED_PROPERTIES, target)) {
      await ctx.exec.run('zfs', set, signal).catch((err: unknown) => {
        throw new Error(
          `received ${target}@${req.to.name} but could not set ${set[1]} on it; set it yourself ` +
            `(zfs ${set.join(' ')}) before mounting ${target}`,
          { cause: err },
        );
      });
    }
  }
  if (force) await clearPlaceholder(ctx, target, signal, trusted ? 'on' : undefined);
  if (caps.holds) await moveLastReceivedHold(ctx, target, req.to.name, before, signal);
}

/**
 * A Receiver over the local `zfs` command: stores the root-relative filesystem `a/b` as
 * `<root>/a/b` and `""` as the root itself, never outside the root (hostile paths are refused
 * before any command runs), and refuses streams carrying properties unless
 * `options.trustStreamProperties`.
 *
 * @example
 * const receiver = zfsReceiver({ root: 'backup/host1' });
 * await receiver.receive({ filesystem: 'home', to: snapshot, clearResumeToken: false }, stream, signal);
 */
export function zfsReceiver(options: ZfsEndpointOptions): PrunableReceiver {
  const ctx = zfsContext(options);
  const legacy = { destroy: false };
  const policy: ReceivePolicy = {
    trusted: options.trustStreamProperties === true,
    recvSet: { ...options.recvSet },
    recvExclude: [...(options.recvExclude ?? [])],
  };
  assertRecvProperties(policy.recvSet, policy.recvExclude);
  return {
    listFilesystems: (signal) => ctx.listFilesystems(signal, true),
    listFilesystemVersions: (fs, signal) => ctx.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => ctx.waitForConnectivity(signal),
    async receive(req: ReceiveReq, stream: Readable, signal: AbortSignal) {
      // The stream may fail (zfs send exiting) while we still prepare: the error must not go
      // unhandled; it stays on stream.errored for pipeIntoRecv.
      const keepError = (): void => {};
      stream.on('error', keepError);
      try {
        await receiveInto(ctx, req, stream, signal, policy);
      } catch (err) {
        // The sender's zfs send must not wait forever for a reader: stop it, and wait until
        // it is gone, so no process outlives the call.
        await destroyAndSettle(stream);
        throw err;
      } finally {
        stream.off('error', keepError);
      }
    },
    destroySnapshots: (req, signal) => destroyForClient(ctx, req, signal, legacy),
  };
}
