/**
 * `xrepl prune --config FILE (--dry-run | --destroy) JOB`: the pruning plan of a job, each
 * snapshot with its verdict and the rule that kept it; `--destroy` carries it out.
 */
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, jobNamed, loadConfig } from '../jobs/config.js';
import { pruneJob } from '../jobs/operations.js';
import { formatPrune } from '../jobs/pruning/run.js';
import { prunes } from '../jobs/sides.js';
import type { CommandContext } from './context.js';
import { EXIT, UsageError } from './io.js';
import { createLogger } from './logger.js';
import { interruptible } from './run.js';
import { jobDeps } from './job-deps.js';
import type { LogLevel } from './options.js';

interface PruneFlags {
  config: string;
  dryRun?: boolean;
  destroy?: boolean;
  logLevel: LogLevel;
}

async function pruneCommand(name: string, flags: PruneFlags, ctx: CommandContext): Promise<number> {
  if ((flags.dryRun === true) === (flags.destroy === true)) {
    throw new UsageError('prune takes exactly one of --dry-run (show the plan) and --destroy');
  }
  const job = jobNamed(loadConfig(flags.config), name);
  if (!prunes(job)) throw new UsageError(`job ${name} is a ${job.type} job: nothing to prune`);
  const interrupt = interruptible(ctx.io);
  try {
    const deps = jobDeps(
      ctx,
      createLogger(flags.logLevel, ctx.io.stderr, { readable: ctx.io.isTTY }),
    );
    const sides = job.type === 'snap' ? (['sender'] as const) : (['sender', 'receiver'] as const);
    for (const side of sides) {
      const result = await pruneJob(job, side, deps, interrupt.signal, flags.dryRun === true);
      for (const line of formatPrune(result)) ctx.io.stdout.write(`${line}\n`);
      if (flags.destroy === true) ctx.io.stdout.write(`${side}: ${result.destroyed} destroyed\n`);
    }
    return EXIT.done;
  } finally {
    interrupt.dispose();
  }
}

/** Registers `prune`. */
export function registerPrune(program: Command, ctx: CommandContext): void {
  program
    .command('prune')
    .description("show (--dry-run) or carry out (--destroy) a job's pruning")
    .argument('<job>', 'the job, by name')
    .option('--config <file>', 'the config file', DEFAULT_CONFIG_PATH)
    .option('--dry-run', 'print each snapshot with its verdict and the rule that kept it')
    .option('--destroy', 'destroy what the plan lets go')
    .action(async (name: string, _o: unknown, command: Command) => {
      ctx.exit(await pruneCommand(name, command.optsWithGlobals<PruneFlags>(), ctx));
    });
}
