/** One filesystem of a plan: lists its versions on both sides and plans its steps. */
import type { FS, FilesystemInfo } from '../driver/types.js';
import type {
  EndpointFilesystem,
  FilesystemVersion,
  Receiver,
  Sender,
} from '../endpoints/types.js';
import { mapBounded } from './concurrency.js';
import { PlanningError } from './errors.js';
import { planTransfers, type InitialPolicy } from './incremental.js';
import { resumeTransfers, type StaleResumeTokenPolicy } from './resume.js';
import { ReplicationStep } from './step.js';

/** What every filesystem of one planner shares. */
export interface PlannerContext {
  sender: Sender;
  receiver: Receiver;
  initial: InitialPolicy;
  sizeEstimateConcurrency: number;
  onStaleResumeToken: StaleResumeTokenPolicy;
}

/** A sender filesystem and what the receiver had at the same path when the attempt planned. */
export class ReplicationFS implements FS {
  constructor(
    private readonly ctx: PlannerContext,
    readonly senderFS: EndpointFilesystem,
    readonly receiverFS: EndpointFilesystem | undefined,
    /** The name the driver sees (names.ts): the path, or it below the root's label. */
    readonly name: string = senderFS.path,
  ) {}

  get path(): string {
    return this.senderFS.path;
  }

  /** Same path. */
  equalToPreviousAttempt(other: FS): boolean {
    return other instanceof ReplicationFS && other.path === this.path;
  }

  correspondenceKey(): string {
    return this.path;
  }

  reportInfo(): FilesystemInfo {
    return { name: this.name };
  }

  /**
   * The steps that bring the receiver up to the sender: none for a sender placeholder or when
   * the newest snapshot is already there; a resumed step first when the receiver has a resume
   * token; else the incremental path, or an initial replication by policy. Each step gets a
   * size estimate (failures count as unknown). Conflicts reject with a PlanningError; endpoint
   * errors reject unchanged.
   */
  async planFS(signal: AbortSignal): Promise<ReplicationStep[]> {
    const { sender, receiver } = this.ctx;
    if (this.senderFS.isPlaceholder) {
      if (this.receiverFS && !this.receiverFS.isPlaceholder) {
        throw new PlanningError(
          'placeholder-conflict',
          this.path,
          'it is a placeholder on the sender, but the receiver has a real filesystem there; ' +
            'rename or destroy the receiver filesystem, or replicate it from where it came from',
        );
      }
      return [];
    }
    const [senderVersions, receiverVersions] = await Promise.all([
      sender.listFilesystemVersions(this.path, signal),
      this.receiverFS
        ? receiver.listFilesystemVersions(this.path, signal)
        : ([] as FilesystemVersion[]),
    ]);
    const token = this.receiverFS?.resumeToken;
    const resumed =
      token !== undefined && this.receiverFS
        ? resumeTransfers(
            { ...this.receiverFS, resumeToken: token },
            senderVersions,
            this.ctx.onStaleResumeToken,
          )
        : undefined;
    // A stale token cleared by policy: planned as if absent; the first receive discards it
    // (its request says clearResumeToken, as no step resumes it).
    const transfers =
      resumed ?? planTransfers(this.path, senderVersions, receiverVersions, this.ctx.initial);
    const steps = transfers.map(
      (t) => new ReplicationStep({ sender, receiver, filesystem: this.path }, t),
    );
    await mapBounded(steps, this.ctx.sizeEstimateConcurrency, async (step) => {
      step.bytesExpected = await this.estimate(step, signal);
    });
    signal.throwIfAborted();
    return steps;
  }

  /** The dry-run size of `step`; 0 (unknown) when the sender cannot tell. */
  private async estimate(step: ReplicationStep, signal: AbortSignal): Promise<number> {
    if (signal.aborted) return 0;
    try {
      const { expectedSize } = await this.ctx.sender.sendDry(step.sendRequest(), signal);
      return Number.isFinite(expectedSize) && expectedSize > 0 ? expectedSize : 0;
    } catch {
      return 0;
    }
  }
}
