/**
 * `xrepl stdio --role sender|receiver (--zfs ROOT | --memory FIXTURE)`: serves one local
 * endpoint on standard input and output, for a client that reached this machine with
 * `ssh://host/ROOT` (src/transport/ssh/). It runs for one ssh session and ends when its input
 * does. Logs go to stderr (ssh shows them to the client on failure), never to stdout, which
 * carries the protocol. Meant as the forced command of an `authorized_keys` entry:
 *
 *   command="xrepl stdio --role receiver --zfs backup/host1",restrict ssh-ed25519 AAAA... host1
 */
import { Option, type Command } from 'commander';
import { FrameChannel } from '../transport/data/channel.js';
import { serveChannel } from '../transport/data/serve.js';
import { DEFAULT_LIMITS } from '../transport/limits.js';
import type { CommandContext } from './context.js';
import { EXIT, UsageError } from './io.js';
import { createLogger } from './logger.js';
import { TRUST_HELP, TRUST_WARNING, type LogLevel } from './options.js';
import { interruptible } from './run.js';
import { memoryBackend, perIdentity, zfsBackend } from './serve.js';

export interface StdioCommandOptions {
  role: 'sender' | 'receiver';
  zfs?: string;
  memory?: string;
  trustStreamProperties?: boolean;
  allowPrune?: boolean;
  logLevel: LogLevel;
}

async function stdioCommand(options: StdioCommandOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  if ((options.zfs === undefined) === (options.memory === undefined)) {
    throw new UsageError('stdio needs exactly one of --zfs ROOT and --memory FIXTURE');
  }
  const trustStreamProperties = options.trustStreamProperties === true;
  if (trustStreamProperties && (options.zfs === undefined || options.role !== 'receiver')) {
    throw new UsageError('--trust-stream-properties applies to --role receiver with --zfs only');
  }
  if (options.allowPrune === true && options.role !== 'receiver') {
    throw new UsageError('--allow-prune applies to --role receiver only');
  }
  const pipes = io.pipes;
  if (pipes === undefined) throw new UsageError('stdio needs binary standard input and output');
  const backend =
    options.zfs !== undefined
      ? zfsBackend(options.zfs, trustStreamProperties)
      : memoryBackend(options.memory as string, options.role);
  const logger = createLogger(options.logLevel, io.stderr, { readable: false });
  if (trustStreamProperties) logger.warn({ root: options.zfs }, TRUST_WARNING);
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
  program
    .command('stdio')
    .description('serve a local endpoint on stdin/stdout, for `ssh://host/ROOT` endpoints')
    .addOption(
      new Option('--role <role>', 'what to serve')
        .choices(['sender', 'receiver'])
        .makeOptionMandatory(),
    )
    .option('--zfs <root>', 'serve the datasets below ROOT through the local zfs command')
    .option('--memory <fixture>', 'serve a simulated pool from FIXTURE.json[?root=DATASET]')
    .option('--trust-stream-properties', TRUST_HELP)
    .option(
      '--allow-prune',
      'receiver: let the client destroy snapshots below ROOT (its jobs prune it)',
    )
    .action(async (_options: unknown, command: Command) => {
      ctx.exit(await stdioCommand(command.optsWithGlobals<StdioCommandOptions>(), ctx));
    });
}
