/** The receiving side of the simulated pool: stores streams below its root, never outside it. */
import type { Readable } from 'node:stream';
import { guardDestroy } from '../prune-guard.js';
import type {
  DestroySnapshotsReq,
  DestroySnapshotsResult,
  PrunableReceiver,
  ReceiveReq,
} from '../types.js';
import { MemoryEndpoint, type MemoryEndpointOptions } from './endpoint.js';
import type { MemoryPool } from './pool.js';
import { receiveStream } from './receive.js';

export interface MemoryReceiverOptions extends MemoryEndpointOptions {
  /** Keep partial state and offer a resume token when a receive is interrupted (`zfs recv -s`). */
  resumable?: boolean;
}

/** A receiver over a memory pool; missing parents of a received dataset become placeholders. */
export class MemoryReceiver extends MemoryEndpoint implements PrunableReceiver {
  readonly resumable: boolean;

  constructor(pool: MemoryPool, root: string, options: MemoryReceiverOptions = {}) {
    super(pool, root, options);
    this.resumable = options.resumable ?? false;
  }

  /** Receives `stream` as `req.to` into `req.filesystem` (below the root); consumes or destroys it. */
  async receive(req: ReceiveReq, stream: Readable, signal: AbortSignal): Promise<void> {
    let path: string;
    try {
      path = this.fullPath(req.filesystem);
      await this.faults.enter('receive', signal);
    } catch (err) {
      stream.destroy();
      throw err;
    }
    await receiveStream(
      { pool: this.pool, path, req, resumable: this.resumable, faults: this.faults, signal },
      stream,
    );
  }

  /** Destroys what `req` asks for, except what guardDestroy keeps (the pool has no holds). */
  async destroySnapshots(
    req: DestroySnapshotsReq,
    signal: AbortSignal,
  ): Promise<DestroySnapshotsResult> {
    const full = this.fullPath(req.filesystem);
    signal.throwIfAborted();
    const present = this.dataset(full).snapshots.map((s) => ({
      name: s.name,
      guid: s.guid,
      createTxg: String(s.createTxg),
      holds: 0,
    }));
    const result = guardDestroy(req, present);
    if (!req.dryRun) for (const name of result.destroyed) this.pool.destroySnapshot(full, name);
    return result;
  }
}

/**
 * A Receiver storing everything below `root` of `pool`: `data/home` lands at
 * `<root>/data/home` and is listed back as `data/home`. Hostile paths are refused up front.
 *
 * @example
 * const receiver = memoryReceiver(pool, 'backup/host1', { resumable: true });
 */
export function memoryReceiver(
  pool: MemoryPool,
  root: string,
  options: MemoryReceiverOptions = {},
): MemoryReceiver {
  return new MemoryReceiver(pool, root, options);
}
