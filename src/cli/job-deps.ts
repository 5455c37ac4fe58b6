/** The world a job works in, from the command line's point of view: local zfs and `connect`. */
import type { Logger } from '../driver/types.js';
import type { JobDeps } from '../jobs/operations.js';
import { localZfs } from '../jobs/zfs-local.js';
import type { CommandContext } from './context.js';
import { openEndpoint } from './endpoints.js';

/** JobDeps over the real zfs command and the schemes `--from`/`--to` know. */
export function jobDeps(ctx: CommandContext, logger: Logger): JobDeps {
  return {
    zfs: localZfs(),
    openSender: (spec) => openEndpoint(spec, 'sender', ctx.schemes),
    openReceiver: (spec) => openEndpoint(spec, 'receiver', ctx.schemes),
    now: () => new Date(ctx.io.now?.() ?? Date.now()),
    logger,
  };
}
