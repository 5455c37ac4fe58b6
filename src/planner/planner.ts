/** The ZFS planner over two endpoints: implements the driver's Planner (REPLICATION.md). */
import type { Planner } from '../driver/types.js';
import type { Receiver, Sender } from '../endpoints/types.js';
import { waitForBoth } from './connectivity.js';
import { ReplicationFS, type PlannerContext } from './fs.js';
import type { InitialPolicy } from './incremental.js';
import { filesystemNaming, type FilesystemNaming } from './names.js';
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
  /**
   * The root's label, required when `filesystems` selects the root (`""`): then every
   * filesystem's name starts with it (the root is `data`, `home` is `data/home`), since the
   * driver's names are dataset paths (D3) and the children must wait for the root (D6).
   * `replicate` passes the last component of `--from`'s dataset, a push job its pool. Without
   * the root selected, a name is the root-relative path. `filesystemNaming` maps names back.
   */
  rootName?: string;
}

/** The default selection: everything below the sender's root, not the root (`""`) itself. */
const belowRoot = (path: string): boolean => path !== '';

const POLICIES: readonly InitialPolicy[] = ['most-recent', 'all', 'fail'];
const STALE_POLICIES: readonly StaleResumeTokenPolicy[] = ['fail', 'clear'];

class EndpointPlanner implements Planner {
  constructor(
    private readonly ctx: PlannerContext,
    private readonly filesystems: ((path: string) => boolean) | undefined,
    private readonly naming: FilesystemNaming,
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
      .map(
        (fs) =>
          new ReplicationFS(this.ctx, fs, onReceiver.get(fs.path), this.naming.nameOf(fs.path)),
      );
  }

  /** Both endpoints in parallel; rejects with an EndpointUnreachableError naming the side. */
  waitForConnectivity(signal: AbortSignal): Promise<void> {
    return waitForBoth(this.ctx.sender, this.ctx.receiver, signal);
  }
}

/**
 * The planner that replicates every filesystem below the root of `sender` to `receiver` (or
 * those `options.filesystems` selects, the root `""` among them, named by `options.rootName`).
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
  const naming = filesystemNaming(options);
  return new EndpointPlanner(
    {
      sender,
      receiver,
      initial,
      sizeEstimateConcurrency,
      onStaleResumeToken,
    },
    options.filesystems,
    naming,
  );
}
