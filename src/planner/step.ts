/** One transfer of one filesystem: send, count the bytes, receive, confirm (REPLICATION.md). */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Step, StepInfo } from '../driver/types.js';
import type { FilesystemVersion, Receiver, SendReq, Sender } from '../endpoints/types.js';
import type { Transfer } from './incremental.js';

/** The endpoints and filesystem a step works on. */
export interface StepContext {
  sender: Sender;
  receiver: Receiver;
  filesystem: string;
}

/** Passes chunks through unchanged, reporting each chunk's length. */
class ByteCounter extends Transform {
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.onBytes(chunk.length);
    callback(null, chunk);
  }
}

/**
 * A planned transfer, as the driver's Step. The send stream reaches the receiver through a
 * byte counter, so `reportInfo().bytesReplicated` is live.
 */
export class ReplicationStep implements Step {
  /** From the sender's dry run; 0 = unknown. */
  bytesExpected = 0;
  private bytesReplicated = 0;

  constructor(
    private readonly ctx: StepContext,
    readonly transfer: Transfer,
  ) {}

  get from(): FilesystemVersion | undefined {
    return this.transfer.from;
  }

  get to(): FilesystemVersion {
    return this.transfer.to;
  }

  /** Whether this step continues an interrupted receive. */
  get resumed(): boolean {
    return this.transfer.resumeToken !== undefined;
  }

  /**
   * Same target: same `to` guid and same `from` guid. When either step resumes a receive,
   * the same `to` is enough: the seed says a resumed step equals the originally planned one.
   */
  targetEquals(other: Step): boolean {
    if (!(other instanceof ReplicationStep) || other.to.guid !== this.to.guid) return false;
    return this.resumed || other.resumed || other.from?.guid === this.from?.guid;
  }

  targetDate(): Date {
    return new Date(this.to.creation);
  }

  reportInfo(): StepInfo {
    return {
      from: this.from?.name ?? '',
      to: this.to.name,
      resumed: this.resumed,
      bytesExpected: this.bytesExpected,
      bytesReplicated: this.bytesReplicated,
    };
  }

  /** The request for the sender (also what `sendDry` estimates). */
  sendRequest(): SendReq {
    const { from, to, resumeToken } = this.transfer;
    return {
      filesystem: this.ctx.filesystem,
      ...(from && { from }),
      to,
      ...(resumeToken !== undefined && { resumeToken }),
    };
  }

  /**
   * send -> count -> receive -> sendCompleted. Endpoint errors reach the caller unchanged
   * (a broken send stream's own error wins over the receiver's reaction to it), so their
   * `code` still classifies them. Aborting `signal` destroys both streams.
   */
  async step(signal: AbortSignal): Promise<void> {
    const { sender, receiver, filesystem } = this.ctx;
    this.bytesReplicated = 0;
    const req = this.sendRequest();
    const { usedResumeToken, stream } = await sender.send(req, signal);
    await transfer(
      stream,
      signal,
      (n) => (this.bytesReplicated += n),
      (counted) =>
        receiver.receive(
          { filesystem, to: this.to, clearResumeToken: !usedResumeToken },
          counted,
          signal,
        ),
    );
    await sender.sendCompleted(req, signal);
  }
}

/**
 * Pipes `source` through a counter into `receive`, and settles once both ends have. Rejects
 * with the source's own error if it broke, else with the receiver's.
 */
async function transfer(
  source: Readable,
  signal: AbortSignal,
  onBytes: (n: number) => void,
  receive: (counted: Readable) => Promise<void>,
): Promise<void> {
  const counter = new ByteCounter(onBytes);
  // Both stay subscribed for good: an error emitted after the step settled (or before the
  // receiver listened) must not become an uncaught 'error' event.
  counter.on('error', () => {});
  source.on('error', (err) => counter.destroy(err));
  const onAbort = (): void => {
    source.destroy();
    counter.destroy(
      signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)),
    );
  };
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  source.pipe(counter);
  try {
    await receive(counter);
  } catch (err) {
    // Destroyed without an error, `source.errored` keeps only an error of its own.
    throw source.errored ?? err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    source.unpipe(counter);
    source.destroy();
    if (!counter.readableEnded) counter.destroy();
    // The sender's cleanup (on OpenZFS: releasing its step holds) runs before its stream
    // closes; the step is over only then, so nothing of it outlives a cancelled run.
    if (!source.closed) await new Promise((resolve) => source.once('close', resolve));
  }
}
