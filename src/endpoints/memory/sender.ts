/** The sending side of the simulated pool: lists, estimates and streams snapshots. */
import type { Readable } from 'node:stream';
import type { SendReq, Sender } from '../types.js';
import { StalePlanError } from '../../errors/stale-plan.js';
import { MemoryEndpoint, type MemoryEndpointOptions } from './endpoint.js';
import type { MemoryPool, MemorySnapshot } from './pool.js';
import { decodeResumeToken } from './resume-token.js';
import { createSendStream } from './send-stream.js';
import { STREAM_MAGIC, streamLength, type StreamHeader } from './stream-format.js';

/** A sender over a memory pool. `completed` records the requests confirmed by `sendCompleted`. */
export class MemorySender extends MemoryEndpoint implements Sender {
  readonly completed: SendReq[] = [];

  constructor(pool: MemoryPool, root: string | undefined, options: MemoryEndpointOptions = {}) {
    super(pool, root, options);
  }

  /** Size of the stream `send` would produce (header included); a resumed send counts what is left. */
  async sendDry(req: SendReq, signal: AbortSignal): Promise<{ expectedSize: number }> {
    const header = this.headerFor(req);
    await this.faults.enter('sendDry', signal);
    return { expectedSize: streamLength(header) };
  }

  /** Starts a stream; with `resumeToken` it continues where the interrupted receive stopped. */
  async send(
    req: SendReq,
    signal: AbortSignal,
  ): Promise<{ usedResumeToken: boolean; stream: Readable }> {
    const vanished = this.faults.takeVanish(req.filesystem);
    if (vanished !== undefined) {
      const path = this.fullPath(req.filesystem);
      if (this.dataset(path).snapshots.some((s) => s.name === req.to.name)) {
        this.pool.destroySnapshot(path, req.to.name);
        vanished(`${path}@${req.to.name}`);
      }
    }
    const header = this.headerFor(req);
    await this.faults.enter('send', signal);
    return {
      usedResumeToken: req.resumeToken !== undefined,
      stream: createSendStream(header, this.faults, signal),
    };
  }

  async sendCompleted(req: SendReq, signal: AbortSignal): Promise<void> {
    this.fullPath(req.filesystem);
    await this.faults.enter('sendCompleted', signal);
    this.completed.push(req);
  }

  /**
   * The stream header of `req`, or an error saying what on the sender does not fit: a
   * StalePlanError when a snapshot the plan names is gone (D13: re-planning cures it).
   */
  private headerFor(req: SendReq): StreamHeader {
    const path = this.fullPath(req.filesystem);
    const ds = this.dataset(path);
    const to = ds.snapshots.find((s) => s.guid === req.to.guid);
    if (!to)
      throw new StalePlanError(
        `cannot send ${path}@${req.to.name}: no snapshot with guid ${req.to.guid} (destroyed since planning?)`,
      );
    let from: Pick<MemorySnapshot, 'createTxg'> | undefined;
    if (req.from) {
      const guid = req.from.guid;
      from = ds.snapshots.find((s) => s.guid === guid) ?? ds.bookmarks.find((b) => b.guid === guid);
      if (!from)
        throw new StalePlanError(
          `cannot send ${path}: incremental source ${req.from.name} (guid ${guid}) does not exist`,
        );
      if (from.createTxg >= to.createTxg) {
        throw new Error(
          `cannot send ${path}: incremental source ${req.from.name} is not older than @${to.name}`,
        );
      }
    }
    // Full: everything up to `to`; incremental: what was written after `from`.
    const payloadSize = ds.snapshots
      .filter((s) => s.createTxg <= to.createTxg && (!from || s.createTxg > from.createTxg))
      .reduce((sum, s) => sum + s.size, 0);
    let offset = 0;
    if (req.resumeToken !== undefined) {
      const token = decodeResumeToken(req.resumeToken);
      if (token.toGuid !== to.guid || token.fromGuid !== req.from?.guid) {
        throw new Error(
          `cannot resume send of ${path}@${to.name}: the resume token is for another send`,
        );
      }
      if (token.bytes > payloadSize)
        throw new Error(`cannot resume send of ${path}@${to.name}: token offset beyond the stream`);
      offset = token.bytes;
    }
    return {
      magic: STREAM_MAGIC,
      fs: req.filesystem,
      fromGuid: req.from?.guid ?? null,
      toGuid: to.guid,
      toName: to.name,
      toCreation: to.creation.toISOString(),
      payloadSize,
      offset,
    };
  }
}

/**
 * A Sender serving the datasets below `root` of `pool` (the whole pool when `root` is omitted).
 *
 * @example
 * const sender = memorySender(pool, 'tank');   // lists tank/data as "data"
 * sender.faults.failAfterBytes(1_000_000);      // break the next send stream
 */
export function memorySender(
  pool: MemoryPool,
  root?: string,
  options: MemoryEndpointOptions = {},
): MemorySender {
  return new MemorySender(pool, root, options);
}
