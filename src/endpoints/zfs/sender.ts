/**
 * The sending side of the zfs CLI backend (`zfs:<root>`): lists the datasets below its root
 * (without placeholders) and streams `zfs send`. On OpenZFS it protects the incremental base
 * (holds.ts): step holds on `from` and `to` while a step runs, the replication cursor moved
 * after each step, stale step holds of its job released at the first listing of a run.
 */
import type { Readable } from 'node:stream';
import type { FilesystemVersion, SendReq, Sender } from '../types.js';
import { joinRoot } from '../paths.js';
import { assertSendReq, parseDrySize, sendArgs, sendDryArgs, versionFullName } from './args.js';
import type { ZfsCapabilities } from './capabilities.js';
import { zfsContext, type ZfsContext, type ZfsEndpointOptions } from './context.js';
import {
  bookmark,
  cursorName,
  hold,
  isCursorOf,
  release,
  releaseEverywhere,
  stepHoldTag,
} from './holds.js';
import { versionsOf } from './list.js';
import { assertSendOptions, sendFlags, type ZfsSendOptions } from './send-options.js';
import { zfsSendStream } from './send-stream.js';

/** Bound on releasing holds after a failure or cancellation (the step's signal is gone). */
const CLEANUP_TIMEOUT_MS = 60_000;

/** The snapshots a step holds on the sender: `from` (unless a bookmark) and `to`. */
function heldSnapshots(fs: string, req: SendReq): string[] {
  const versions: FilesystemVersion[] = [
    ...(req.from?.type === 'snapshot' ? [req.from] : []),
    req.to,
  ];
  return versions.map((v) => versionFullName(fs, v));
}

/** The zfs send flags for `fs`; asks zfs whether it is encrypted (once: it never changes). */
function flagsFor(
  ctx: ZfsContext,
  options: ZfsSendOptions,
  encryptedCache: Map<string, Promise<boolean>>,
) {
  return async (fs: string, caps: ZfsCapabilities, signal: AbortSignal): Promise<string[]> => {
    let encrypted = encryptedCache.get(fs);
    if (encrypted === undefined) {
      encrypted = caps.encryption
        ? ctx.exec
            .run('zfs', ['get', '-H', '-o', 'value', 'encryption', fs], signal)
            .then(({ stdout }) => !['off', '-', ''].includes(stdout.trim()))
        : Promise.resolve(false);
      encryptedCache.set(fs, encrypted);
      encrypted.catch(() => encryptedCache.delete(fs));
    }
    return sendFlags(options, caps, fs, await encrypted);
  };
}

/**
 * After a step: the cursor bookmark on `to` (created first, so there is always one), then the
 * job's older cursors of the filesystem destroyed.
 */
async function moveCursor(
  ctx: ZfsContext,
  fs: string,
  to: FilesystemVersion,
  signal: AbortSignal,
): Promise<void> {
  const name = cursorName(ctx.job, to.guid);
  await bookmark(ctx.exec, versionFullName(fs, to), `${fs}#${name}`, signal);
  const versions = versionsOf(fs, (await ctx.list(fs, signal, 1)) ?? []);
  const toTxg = BigInt(to.createTxg);
  for (const v of versions) {
    if (v.type !== 'bookmark' || v.name === name || !isCursorOf(ctx.job, v.name)) continue;
    if (BigInt(v.createTxg) > toTxg) continue; // never move the cursor backwards
    await ctx.exec.run('zfs', ['destroy', `${fs}#${v.name}`], signal);
  }
}

/**
 * A Sender over the local `zfs` command, rooted at `options.root`.
 *
 * @example
 * const sender = zfsSender({ root: 'tank/data', job: 'offsite', send: { compressed: true } });
 * const fss = await sender.listFilesystems(signal); // [{ path: '' }, { path: 'home' }, ...]: '' is tank/data
 * const { stream } = await sender.send({ filesystem: 'home', to: snapshot }, signal);
 */
export function zfsSender(options: ZfsEndpointOptions): Sender {
  const ctx = zfsContext(options);
  const sendOptions = options.send ?? {};
  assertSendOptions(sendOptions);
  const flags = flagsFor(ctx, sendOptions, new Map());
  const tag = stepHoldTag(ctx.job);
  /** Step holds kept after a stream ended well, until sendCompleted releases them. */
  const heldUntilCompleted = new Map<string, string[]>();
  let staleHoldsReleased = false;

  const releaseLater = (snapshots: string[]): Promise<void> =>
    release(ctx.exec, tag, snapshots, AbortSignal.timeout(CLEANUP_TIMEOUT_MS));

  return {
    async listFilesystems(signal) {
      const filesystems = await ctx.listFilesystems(signal, false);
      const caps = await ctx.capabilities(signal);
      if (caps.holds && !staleHoldsReleased) {
        // A new run: step holds of this job left by a crash or a failed step are stale.
        const held = ((await ctx.list(ctx.root, signal)) ?? [])
          .filter((r) => r.type === 'snapshot' && (r.userrefs ?? 0) > 0)
          .map((r) => r.name);
        await releaseEverywhere(ctx.exec, tag, held, signal);
        staleHoldsReleased = true;
      }
      return filesystems;
    },
    listFilesystemVersions: (fs, signal) => ctx.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => ctx.waitForConnectivity(signal),

    async sendDry(req: SendReq, signal: AbortSignal) {
      assertSendReq(req);
      const caps = await ctx.capabilities(signal);
      if (!caps.sendDryRun) return { expectedSize: 0 };
      const fs = joinRoot(ctx.root, req.filesystem);
      const args = sendDryArgs(ctx.root, req, caps, await flags(fs, caps, signal));
      const { stdout, stderr } = await ctx.exec.run('zfs', args, signal);
      return { expectedSize: parseDrySize(`${stdout}\n${stderr}`) };
    },

    async send(req: SendReq, signal: AbortSignal) {
      assertSendReq(req);
      signal.throwIfAborted();
      const caps = await ctx.capabilities(signal);
      const fs = joinRoot(ctx.root, req.filesystem);
      const { args, usedResumeToken } = sendArgs(
        ctx.root,
        req,
        caps,
        await flags(fs, caps, signal),
      );
      const held = caps.holds ? heldSnapshots(fs, req) : [];
      const key = `${fs}@${req.to.guid}`;
      heldUntilCompleted.delete(key);
      await hold(ctx.exec, tag, held, signal);
      let stream: Readable;
      let spawned: Promise<void>;
      try {
        signal.throwIfAborted();
        const proc = ctx.exec.start('zfs', args);
        proc.stdin.end(); // zfs send reads nothing
        spawned = proc.spawned;
        // Failed or cancelled: the holds go before the stream closes. Ended well: they stay
        // until sendCompleted, which moves the cursor first.
        stream = zfsSendStream(proc, signal, {
          filesystem: req.filesystem,
          onFailure: () => releaseLater(held),
        });
        stream.once('end', () => heldUntilCompleted.set(key, held));
      } catch (err) {
        await releaseLater(held).catch(() => undefined);
        throw err;
      }
      try {
        await spawned;
        signal.throwIfAborted(); // the stream is destroyed already; do not hand it out
      } catch (err) {
        stream.destroy();
        throw err;
      }
      return { usedResumeToken, stream };
    },

    async sendCompleted(req: SendReq, signal: AbortSignal) {
      assertSendReq(req);
      signal.throwIfAborted();
      const caps = await ctx.capabilities(signal);
      const fs = joinRoot(ctx.root, req.filesystem);
      if (caps.bookmarks) await moveCursor(ctx, fs, req.to, signal);
      if (caps.holds) {
        const key = `${fs}@${req.to.guid}`;
        const held = heldUntilCompleted.get(key) ?? heldSnapshots(fs, req);
        heldUntilCompleted.delete(key);
        await release(ctx.exec, tag, held, signal);
      }
    },
  };
}
