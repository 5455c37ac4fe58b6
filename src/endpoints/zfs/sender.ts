/**
 * The sending side of the zfs CLI backend (`zfs:<root>`): lists the datasets below its root
 * (without placeholders) and streams `zfs send`.
 */
import type { Readable } from 'node:stream';
import type { SendReq, Sender } from '../types.js';
import { assertSendReq, parseDrySize, sendArgs, sendDryArgs } from './args.js';
import { zfsContext, type ZfsEndpointOptions } from './context.js';
import { zfsSendStream } from './send-stream.js';

/**
 * A Sender over the local `zfs` command, rooted at `options.root`.
 *
 * @example
 * const sender = zfsSender({ root: 'tank/data' });
 * const fss = await sender.listFilesystems(signal); // [{ path: 'home', isPlaceholder: false }, ...]
 * const { stream } = await sender.send({ filesystem: 'home', to: snapshot }, signal);
 */
export function zfsSender(options: ZfsEndpointOptions): Sender {
  const ctx = zfsContext(options);
  return {
    listFilesystems: (signal) => ctx.listFilesystems(signal, false),
    listFilesystemVersions: (fs, signal) => ctx.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => ctx.waitForConnectivity(signal),

    async sendDry(req: SendReq, signal: AbortSignal) {
      assertSendReq(req);
      const caps = await ctx.capabilities(signal);
      if (!caps.sendDryRun) return { expectedSize: 0 };
      const args = sendDryArgs(ctx.root, req, caps);
      const { stdout, stderr } = await ctx.exec.run('zfs', args, signal);
      return { expectedSize: parseDrySize(`${stdout}\n${stderr}`) };
    },

    async send(req: SendReq, signal: AbortSignal) {
      assertSendReq(req);
      signal.throwIfAborted();
      const caps = await ctx.capabilities(signal);
      const { args, usedResumeToken } = sendArgs(ctx.root, req, caps);
      signal.throwIfAborted();
      const proc = ctx.exec.start('zfs', args);
      proc.stdin.end(); // zfs send reads nothing
      const stream: Readable = zfsSendStream(proc, signal, req.filesystem);
      try {
        await proc.spawned;
        signal.throwIfAborted(); // the stream is destroyed already; do not hand it out
      } catch (err) {
        stream.destroy();
        throw err;
      }
      return { usedResumeToken, stream };
    },

    async sendCompleted(req: SendReq, signal: AbortSignal) {
      // Nothing to release: no holds are taken (zfs-fuse cannot hold) and no replication
      // cursor bookmark is kept yet. Validate anyway, so a hostile request never passes.
      assertSendReq(req);
      signal.throwIfAborted();
    },
  };
}
