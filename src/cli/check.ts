/**
 * `xrepl check --config FILE`: validates the config (exit 2 with every problem by path) and
 * prints what each job selects on the local pools.
 */
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, loadConfig, type JobConfig } from '../jobs/config.js';
import { resolveSelection } from '../jobs/resolve.js';
import { checkJob, JobSetupError } from '../jobs/sides.js';
import { localZfs, type LocalZfs } from '../jobs/zfs-local.js';
import type { CommandContext } from './context.js';
import { EXIT } from './io.js';

function patternsOf(job: JobConfig): Record<string, boolean> | undefined {
  return 'filesystems' in job ? job.filesystems : undefined;
}

/** Checks `file` and prints each job's selection; resolves with the exit code. */
export async function checkCommand(
  file: string,
  ctx: CommandContext,
  zfs: LocalZfs = localZfs(),
): Promise<number> {
  const config = loadConfig(file);
  const { stdout } = ctx.io;
  stdout.write(`${file}: valid, ${config.jobs.length} job(s)\n`);
  let code: number = EXIT.done;
  for (const job of config.jobs) {
    stdout.write(`job ${job.name} (${job.type})\n`);
    if (job.type === 'sink')
      stdout.write(`  serves a receiver at ${job.listen}, below ${job.root_fs}\n`);
    if (job.type === 'source') stdout.write(`  serves a sender at ${job.listen}\n`);
    try {
      checkJob(job);
    } catch (err) {
      if (!(err instanceof JobSetupError)) throw err;
      ctx.io.stderr.write(`error: ${err.message}\n`);
      code = EXIT.usage;
      continue;
    }
    const patterns = patternsOf(job);
    if (patterns === undefined) continue;
    try {
      const { selected, excluded } = await resolveSelection(
        patterns,
        zfs,
        AbortSignal.timeout(60_000),
      );
      for (const dataset of selected) stdout.write(`  + ${dataset}\n`);
      for (const { dataset, by } of excluded) {
        stdout.write(`  - ${dataset}${by === undefined ? '' : ` (excluded by ${by})`}\n`);
      }
      if (selected.length === 0) stdout.write('  (selects no existing dataset)\n');
    } catch (err) {
      ctx.io.stderr.write(`job ${job.name}: cannot list datasets: ${(err as Error).message}\n`);
      code = EXIT.failed;
    }
  }
  return code;
}

/** Registers `check`. */
export function registerCheck(program: Command, ctx: CommandContext): void {
  program
    .command('check')
    .description('validate the config file and show what each job selects')
    .option('--config <file>', 'the config file', DEFAULT_CONFIG_PATH)
    .action(async (options: { config: string }) => {
      ctx.exit(await checkCommand(options.config, ctx));
    });
}
