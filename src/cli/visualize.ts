/** `xrepl visualize ...`: the visualizer as a command (its options are its own, see VISUALIZE_USAGE). */
import type { Command } from 'commander';
import { runVisualizeCommand, VISUALIZE_USAGE } from '../../visualizer/server/cli.js';
import type { CommandContext } from './context.js';
import { EXIT, UsageError } from './io.js';

async function visualizeCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  let command;
  try {
    command = await runVisualizeCommand(args, io.stdout);
  } catch (cause) {
    // Its argument errors carry the usage after a blank line: keep the first line.
    const message = (cause as Error).message.split('\n')[0] ?? String(cause);
    throw new UsageError(message, { cause });
  }
  if (command === null) return EXIT.done; // --help
  io.stdout.write('press Ctrl-C to stop\n');
  await new Promise<void>((resolve) => {
    const dispose = io.onInterrupt(() => {
      dispose();
      resolve();
    });
  });
  await command.stop();
  return EXIT.done;
}

/** Registers `visualize`, passing its arguments through untouched. */
export function registerVisualize(program: Command, ctx: CommandContext): void {
  program
    .command('visualize')
    .description('serve the statechart visualizer (live, a demo, or a recording)')
    .argument('[options...]', VISUALIZE_USAGE.split('\n')[0])
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (args: string[]) => {
      ctx.exit(await visualizeCommand(args, ctx));
    });
}
