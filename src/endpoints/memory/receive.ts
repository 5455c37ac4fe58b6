/**
 * A simulated `zfs recv` of one stream into `path`: reads the header, checks the destination
 * as ZFS does, consumes and verifies the payload, and applies the snapshot only when the whole
 * stream arrived. An interrupted receive leaves partial state (resumable receivers) or nothing.
 */
import type { Readable } from 'node:stream';
import type { ReceiveReq } from '../types.js';
import type { Faults } from './faults.js';
import type { MemoryPool } from './pool.js';
import { delay, onAbort } from './timers.js';
import {
  MAX_HEADER_BYTES,
  parseHeader,
  payloadMatches,
  payloadPattern,
  type StreamHeader,
} from './stream-format.js';

export interface ReceiveContext {
  pool: MemoryPool;
  /** Full dataset path in the pool (already validated and joined with the receiver's root). */
  path: string;
  req: ReceiveReq;
  resumable: boolean;
  faults: Faults;
  signal: AbortSignal;
}

/** Datasets with a receive in progress, per pool: ZFS refuses a second one ("dataset is busy"). */
const busy = new WeakMap<MemoryPool, Set<string>>();

function describeNewest(snapshots: readonly { name: string; guid: string }[]): string {
  const newest = snapshots.at(-1);
  return newest ? `@${newest.name} (guid ${newest.guid})` : 'no snapshot';
}

/** Throws unless `path` can take the stream with `header` now. Clears partial state if asked. */
function checkDestination(ctx: ReceiveContext, header: StreamHeader): void {
  const { pool, path, req } = ctx;
  if (header.toGuid !== req.to.guid) {
    throw new Error(
      `cannot receive into ${path}: the stream carries snapshot guid ${header.toGuid}, ` +
        `the request expects @${req.to.name} (guid ${req.to.guid})`,
    );
  }
  const ds = pool.record(path);
  if (header.offset > 0) {
    const partial = ds?.partial;
    if (
      !partial ||
      partial.toGuid !== header.toGuid ||
      (partial.fromGuid ?? null) !== header.fromGuid ||
      partial.bytes !== header.offset
    ) {
      throw new Error(
        `cannot resume the receive into ${path}: the stream resumes at byte ${header.offset} of ` +
          `guid ${header.toGuid}, which does not match the partial receive state there`,
      );
    }
    return;
  }
  if (ds?.partial) {
    if (!req.clearResumeToken) {
      throw new Error(
        `cannot receive into ${path}: it has partially received state (a resume token); ` +
          'resume it, or receive with clearResumeToken to discard it',
      );
    }
    pool.setPartial(path, undefined);
  }
  if (ds?.snapshots.some((s) => s.guid === header.toGuid || s.name === header.toName)) {
    throw new Error(`cannot receive into ${path}: snapshot @${header.toName} already exists`);
  }
  if (header.fromGuid === null) {
    if (ds && ds.snapshots.length > 0) {
      throw new Error(
        `cannot receive full stream into ${path}: destination exists and has snapshots ` +
          `(newest ${describeNewest(ds.snapshots)}); a full receive would overwrite them`,
      );
    }
    return;
  }
  if (!ds) {
    throw new Error(`cannot receive incremental stream: destination ${path} does not exist`);
  }
  if (ds.snapshots.at(-1)?.guid !== header.fromGuid) {
    throw new Error(
      `cannot receive incremental stream into ${path}: destination has been modified since its ` +
        `most recent snapshot (newest is ${describeNewest(ds.snapshots)}, the stream's base is guid ${header.fromGuid})`,
    );
  }
}

/** Receives `stream` into `ctx.path`; always consumes or destroys the stream. */
export async function receiveStream(ctx: ReceiveContext, stream: Readable): Promise<void> {
  const { pool, path, faults, signal } = ctx;
  const inProgress = busy.get(pool) ?? new Set<string>();
  busy.set(pool, inProgress);
  if (inProgress.has(path)) {
    stream.destroy();
    throw new Error(
      `cannot receive into ${path}: dataset is busy (another receive is in progress)`,
    );
  }
  inProgress.add(path);
  const destroy = (err: Error): void => void stream.destroy(err);
  const cleanups = [
    onAbort(signal, (reason) =>
      destroy(reason instanceof Error ? reason : new Error(String(reason))),
    ),
    faults.onDrop(destroy),
  ];
  const failure = faults.takeStreamFailure(ctx.req.filesystem);
  let header: StreamHeader | undefined;
  let pattern: Buffer | undefined;
  let headerBytes = Buffer.alloc(0);
  let consumed = 0;
  let received = 0;
  try {
    signal.throwIfAborted();
    for await (const raw of stream) {
      let chunk: Buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
      let cut: Error | undefined;
      if (failure && consumed + chunk.length > failure.bytes) {
        chunk = chunk.subarray(0, failure.bytes - consumed);
        cut = failure.error();
      }
      consumed += chunk.length;
      const throttle = faults.throttleBytesPerSecond;
      if (throttle > 0) await delay((chunk.length / throttle) * 1000, signal);
      if (!header) {
        headerBytes = Buffer.concat([headerBytes, chunk]);
        const newline = headerBytes.indexOf(0x0a);
        if (newline < 0) {
          if (headerBytes.length > MAX_HEADER_BYTES)
            throw new Error(`cannot receive into ${path}: no stream header`);
          if (cut) throw cut;
          continue;
        }
        const parsed = parseHeader(headerBytes.subarray(0, newline));
        checkDestination(ctx, parsed);
        header = parsed;
        pattern = payloadPattern(header.toGuid);
        chunk = headerBytes.subarray(newline + 1);
      }
      if (chunk.length > 0) {
        const position = header.offset + received;
        if (position + chunk.length > header.payloadSize) {
          throw new Error(`cannot receive into ${path}: the stream is longer than its header says`);
        }
        if (!payloadMatches(pattern as Buffer, position, chunk)) {
          throw new Error(
            `cannot receive into ${path}: stream corrupted at payload byte ${position}`,
          );
        }
        received += chunk.length;
      }
      if (cut) throw cut;
    }
    if (!header) throw new Error(`cannot receive into ${path}: the stream ended before its header`);
    if (header.offset + received < header.payloadSize) {
      throw new Error(
        `cannot receive into ${path}: stream truncated after ${header.offset + received} of ` +
          `${header.payloadSize} payload bytes`,
      );
    }
    pool.applyReceive(path, {
      name: header.toName,
      guid: header.toGuid,
      creation: new Date(header.toCreation),
      size: header.payloadSize,
    });
  } catch (err) {
    // Past the header checks the receive had begun: a resumable receiver keeps what arrived.
    if (header && ctx.resumable) {
      pool.setPartial(path, {
        ...(header.fromGuid !== null && { fromGuid: header.fromGuid }),
        toGuid: header.toGuid,
        toName: header.toName,
        toCreation: new Date(header.toCreation),
        payloadSize: header.payloadSize,
        bytes: header.offset + received,
      });
    }
    stream.destroy();
    throw err;
  } finally {
    for (const cleanup of cleanups) cleanup();
    inProgress.delete(path);
  }
}
