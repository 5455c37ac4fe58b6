/**
 * `xrepl stdio --role sender|receiver (--zfs ROOT | --memory FIXTURE)`: serves one local
 * endpoint on standard input and output, for a client that reached this machine with
 * `ssh://host/ROOT` (src/transport/ssh/). It runs for one ssh session and ends when its input
 * does. Logs go to stderr (ssh shows them to the client on failure), never to stdout, which
 * carries the protocol. Meant as the forced command of an `authorized_keys` entry:
 *
 *   command="xrepl stdio --role receiver --zfs backup/host1",restrict ssh-ed25519 AAAA... host1
 */
import type { Command } from 'commander';
import { FrameChannel } from '../transport/data/channel.js';
import { serveChannel } from '../transport/data/serve.js';
import { DEFAULT_LIMITS } from '../transport/limits.js';
import type { CommandContext } from './context.js';
import { EXIT, UsageError } from './io.js';
import { createLogger } from './logger.js';
import { TRUST_HELP, TRUST_WARNING, type LogLevel } from './options.js';
import { interruptible } from './run.js';
import { addServedOptions, perIdentity, servedBackend, type ServedOptions } from './serve.js';

export interface StdioCommandOptions extends ServedOptions {
  logLevel: LogLevel;
}

async function stdioCommand(options: StdioCommandOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const backend = servedBackend(options, 'stdio');
  const pipes = io.pipes;
  if (pipes === undefined) throw new UsageError('stdio needs binary standard input and output');
  const logger = createLogger(options.logLevel, io.stderr, { readable: false });
  if (options.trustStreamProperties === true) logger.warn({ root: options.zfs }, TRUST_WARNING);
  const interrupt = interruptible(io);
  const channel = new FrameChannel(pipes.input, pipes.output, () => {
    pipes.input.destroy();
    pipes.output.end();
  });
  try {
    await serveChannel(channel, {
      role: options.role,
      endpoint:
        options.role === 'sender'
          ? backend.sender()
          : perIdentity(backend, options.allowPrune === true)({ identity: undefined }),
      // One process per ssh session: sshd and the remote's ssh limits bound the sessions.
      client: '',
      firstByteMs: DEFAULT_LIMITS.firstByteTimeoutMs,
      idleMs: 120_000,
      signal: interrupt.signal,
      peer: 'stdio',
      logger,
    });
    return interrupt.signal.aborted ? EXIT.interrupted : EXIT.done;
  } finally {
    channel.close();
    backend.close();
    interrupt.dispose();
  }
}

/** Registers `stdio`. */
export function registerStdio(program: Command, ctx: CommandContext): void {
  addServedOptions(
    program
      .command('stdio')
      .description('serve a local endpoint on stdin/stdout, for `ssh://host/ROOT` endpoints'),
  )
    .option('--trust-stream-properties', TRUST_HELP)
    .option(
      '--allow-prune',
      'receiver: let the client destroy snapshots below ROOT (its jobs prune it)',
    )
    .action(async (_options: unknown, command: Command) => {
      ctx.exit(await stdioCommand(command.optsWithGlobals<StdioCommandOptions>(), ctx));
    });
}
