/** The ZFS planner over two endpoints: implements the driver's Planner (REPLICATION.md). */
import type { Planner } from '../driver/types.js';
import type { Receiver, Sender } from '../endpoints/types.js';
import { waitForBoth } from './connectivity.js';
import { ReplicationFS, type PlannerContext } from './fs.js';
import type { InitialPolicy } from './incremental.js';
import type { StaleResumeTokenPolicy } from './resume.js';

/** Options of `createPlanner`. */
export interface PlannerOptions {
  /** Initial replication policy when the receiver has no snapshots (default `most-recent`). */
  initial?: InitialPolicy;
  /** At most this many `sendDry` size estimates run at once per filesystem (default 4). */
  sizeEstimateConcurrency?: number;
  /**
   * A receiver's resume token whose snapshot is gone from the sender: `fail` (default) with a
   * StaleResumeTokenError naming the command that discards it, or `clear`: plan without it, and
   * the first receive discards the partial state. (Each receiver reads its own tokens.)
   */
  onStaleResumeToken?: StaleResumeTokenPolicy;
  /**
   * Which of the sender's filesystems to replicate, by root-relative path, `""` being the
   * sender's root dataset itself, received into the receiver's root (default: every one below
   * the root, not the root). A filesystem left out whose children are selected becomes a
   * placeholder on the receiver.
   */
  filesystems?: (path: string) => boolean;
}

/** The default selection: everything below the sender's root, not the root (`""`) itself. */
const belowRoot = (path: string): boolean => path !== '';

const POLICIES: readonly InitialPolicy[] = ['most-recent', 'all', 'fail'];
const STALE_POLICIES: readonly StaleResumeTokenPolicy[] = ['fail', 'clear'];

class EndpointPlanner implements Planner {
  constructor(
    private readonly ctx: PlannerContext,
    private readonly filesystems: ((path: string) => boolean) | undefined,
  ) {}

  /** One FS per sender filesystem, in the sender's order, with the receiver's one at its path. */
  async plan(signal: AbortSignal): Promise<ReplicationFS[]> {
    const [senderFSs, receiverFSs] = await Promise.all([
      this.ctx.sender.listFilesystems(signal),
      this.ctx.receiver.listFilesystems(signal),
    ]);
    const onReceiver = new Map(receiverFSs.map((fs) => [fs.path, fs]));
    const selected = this.filesystems ?? belowRoot;
    return senderFSs
      .filter((fs) => selected(fs.path))
      .map((fs) => new ReplicationFS(this.ctx, fs, onReceiver.get(fs.path)));
  }

  /** Both endpoints in parallel; rejects with an EndpointUnreachableError naming the side. */
  waitForConnectivity(signal: AbortSignal): Promise<void> {
    return waitForBoth(this.ctx.sender, this.ctx.receiver, signal);
  }
}

/**
 * The planner that replicates every filesystem below the root of `sender` to `receiver` (or
 * those `options.filesystems` selects, the root `""` among them).
 *
 * @example
 * const planner = createPlanner(memorySender(src, 'tank'), memoryReceiver(dst, 'backup'), { initial: 'all' });
 * const report = await replicate(config, planner).wait();
 */
export function createPlanner(
  sender: Sender,
  receiver: Receiver,
  options: PlannerOptions = {},
): Planner {
  const initial = options.initial ?? 'most-recent';
  if (!POLICIES.includes(initial)) {
    throw new Error(
      `invalid initial replication policy ${JSON.stringify(initial)}: use ${POLICIES.join(', ')}`,
    );
  }
  const sizeEstimateConcurrency = options.sizeEstimateConcurrency ?? 4;
  if (!Number.isInteger(sizeEstimateConcurrency) || sizeEstimateConcurrency < 1) {
    throw new Error(
      `invalid sizeEstimateConcurrency ${sizeEstimateConcurrency}: use an integer >= 1`,
    );
  }
  const onStaleResumeToken = options.onStaleResumeToken ?? 'fail';
  if (!STALE_POLICIES.includes(onStaleResumeToken)) {
    throw new Error(
      `invalid onStaleResumeToken ${JSON.stringify(onStaleResumeToken)}: use fail or clear`,
    );
  }
  return new EndpointPlanner(
    {
      sender,
      receiver,
      initial,
      sizeEstimateConcurrency,
      onStaleResumeToken,
    },
    options.filesystems,
  );
}
