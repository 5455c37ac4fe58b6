/** The world a job works in, from the command line's point of view: local zfs and `connect`. */
import type { Logger } from '../driver/types.js';
import type { JobDeps } from '../jobs/operations.js';
import { localZfs } from '../jobs/zfs-local.js';
import type { CommandContext } from './context.js';
import { openEndpoint } from './endpoints.js';
import { serveJob } from './serve-job.js';

/** JobDeps over the real zfs command and the schemes `--from`/`--to` know. */
export function jobDeps(ctx: CommandContext, logger: Logger): JobDeps {
  return {
    zfs: localZfs(),
    openSender: (spec, options = {}) => openEndpoint(spec, 'sender', ctx.schemes, {}, options),
    openReceiver: (spec, options = {}) => openEndpoint(spec, 'receiver', ctx.schemes, options),
    now: () => new Date(ctx.io.now?.() ?? Date.now()),
    logger,
    serveJob: (job) => serveJob(job, logger),
  };
}
