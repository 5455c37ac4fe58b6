/**
 * The `xrepl` program: commander over the registered commands, with every outcome turned
 * into an exit code (0 done, 1 failed, 2 bad arguments, 130 interrupted) instead of a
 * `process.exit` deep inside.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../errors/config-error.js';
import type { CommandContext, RegisterCommand } from './context.js';
import { registerCheck } from './check.js';
import { registerDaemon } from './daemon.js';
import { registerDemo } from './demo.js';
import { registerPrune } from './prune.js';
import { SCHEMES, type EndpointScheme } from './endpoints.js';
import { EXIT, UsageError, type CliIO } from './io.js';
import { LOG_LEVELS, parseLogLevel } from './options.js';
import { registerReplicate } from './replicate.js';
import { registerServe } from './serve.js';
import { registerStatus } from './status.js';
import { registerStdio } from './stdio.js';
import { registerVisualize } from './visualize.js';

/** Every command of xrepl; a new one (e.g. `serve`) is one entry here. */
export const COMMANDS: readonly RegisterCommand[] = [
  registerReplicate,
  registerDemo,
  registerVisualize,
  registerServe,
  registerStdio,
  registerCheck,
  registerPrune,
  registerDaemon,
  registerStatus,
];

export interface MainOptions {
  /** Endpoint schemes (default SCHEMES); tests add their own. */
  schemes?: readonly EndpointScheme[];
  /** Commands (default COMMANDS). */
  commands?: readonly RegisterCommand[];
}

function createProgram(ctx: CommandContext, commands: readonly RegisterCommand[]): Command {
  const program = new Command('xrepl')
    .description("ZFS replication: zrepl's replication driver as XState statecharts")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
    })
    .addOption(
      new Option('--log-level <level>', `log level of stderr logs: ${LOG_LEVELS.join(', ')}`)
        .argParser(parseLogLevel)
        .default('warn'),
    );
  for (const register of commands) register(program, ctx);
  return program;
}

/**
 * Runs xrepl with `argv` (the words after `xrepl`) and resolves with the exit code; never
 * rejects and never exits the process (except `io.exit` on a second Ctrl-C).
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2), processIO());
 */
export async function main(
  argv: readonly string[],
  io: CliIO,
  options: MainOptions = {},
): Promise<number> {
  let code: number = EXIT.done;
  const ctx: CommandContext = {
    io,
    schemes: options.schemes ?? SCHEMES,
    exit: (c) => {
      code = c;
    },
  };
  const program = createProgram(ctx, options.commands ?? COMMANDS);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed its message (or the help) already.
      const shown = ['commander.helpDisplayed', 'commander.version'].includes(err.code);
      return shown ? EXIT.done : EXIT.usage;
    }
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.stderr.write(`error: ${err.message.split('\n').join('\n  ')}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failed;
  }
}
