/**
 * `xrepl visualize [--port N] [--host H] [--allow-host NAME]... [--replay FILE] [--record FILE]
 * [--demo]`: the statechart visualizer on its own. Live (for a replication attached from
 * code), replaying a recording with its timeline, or showing `xrepl demo`'s replication.
 */
import { Option, type Command } from 'commander';
import { startVisualizer } from '../../visualizer/server/server.js';
import type { CommandContext } from './context.js';
import { demoCommand } from './demo.js';
import { EXIT, UsageError } from './io.js';
import { parsePort, type LogLevel } from './options.js';
import { untilInterrupted } from './run.js';

export interface VisualizeOptions {
  port: number;
  host: string;
  allowHost: string[];
  replay?: string;
  record?: string;
  demo?: boolean;
  logLevel: LogLevel;
}

async function visualizeCommand(options: VisualizeOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const access = { host: options.host, allowedHosts: options.allowHost };
  if (options.demo === true) {
    if (options.replay !== undefined) {
      throw new UsageError('--demo and --replay exclude each other');
    }
    return demoCommand(
      {
        visualize: options.port,
        ...(options.record !== undefined && { record: options.record }),
        visualizer: access,
        logLevel: options.logLevel,
      },
      ctx,
    );
  }
  let visualizer;
  try {
    visualizer = await startVisualizer({
      port: options.port,
      ...access,
      ...(options.replay !== undefined && { replay: options.replay }),
    });
  } catch (cause) {
    throw new UsageError((cause as Error).message, { cause });
  }
  try {
    if (options.record !== undefined) visualizer.record(options.record);
    const mode = options.replay !== undefined ? `replaying ${options.replay}` : 'live';
    io.stdout.write(`xrepl visualizer (${mode}): ${visualizer.url}\npress Ctrl-C to stop\n`);
    await untilInterrupted(io);
  } finally {
    await visualizer.close();
  }
  return EXIT.done;
}

/** Registers `visualize`. */
export function registerVisualize(program: Command, ctx: CommandContext): void {
  program
    .command('visualize')
    .description('serve the statechart visualizer (live, a recording, or the demo)')
    .addOption(
      new Option('--port <n>', 'port to listen on (0 picks a free one)')
        .argParser((v) => parsePort(v, '--port'))
        .default(8080),
    )
    .option(
      '--host <address>',
      'address to listen on (beyond loopback: see --allow-host)',
      '127.0.0.1',
    )
    .option(
      '--allow-host <name>',
      'a host name the page may be reached by besides loopback and --host (repeatable)',
      (name: string, names: string[]) => [...names, name],
      [] as string[],
    )
    .option('--replay <file>', 'replay a recording made with --record (timeline slider)')
    .option('--record <file>', 'append every frame to FILE (JSON Lines)')
    .option('--demo', "show `xrepl demo`'s replication live (what npm start runs)")
    .action(async (_options: unknown, command: Command) => {
      ctx.exit(await visualizeCommand(command.optsWithGlobals<VisualizeOptions>(), ctx));
    });
}
