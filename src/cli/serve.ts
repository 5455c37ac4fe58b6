/**
 * `xrepl serve --listen HOST:PORT (--zfs ROOT | --memory FIXTURE) --role sender|receiver
 * [--tls-cert F --tls-key F [--tls-ca F]] [--insecure-listen-anywhere]
 * [--trust-stream-properties] [--max-receives N ...]`: serves one local endpoint over gRPC
 * until Ctrl-C. With `--tls-ca`, clients need a certificate signed by it, and a receiver keeps
 * each client's datasets under `<root>/<common name>`. A zfs receiver refuses streams carrying
 * properties unless `--trust-stream-properties` (logged as a warning). Send and receive
 * streams are bounded per client and overall.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { MemoryPool, memoryReceiver, memorySender } from '../endpoints/memory/index.js';
import { relativePathProblem } from '../endpoints/paths.js';
import type { Receiver, Sender } from '../endpoints/types.js';
import { zfsReceiver, zfsSender } from '../endpoints/zfs/index.js';
import { DEFAULT_LIMITS } from '../transport/limits.js';
import { startServer, type ClientInfo, type ServeOptions } from '../transport/server.js';
import { loadServerTls } from '../transport/tls.js';
import type { CommandContext } from './context.js';
import { EXIT, UsageError } from './io.js';
import { createLogger } from './logger.js';
import {
  TRUST_HELP,
  TRUST_WARNING,
  parseDuration,
  parseInteger,
  type LogLevel,
} from './options.js';
import { interruptible } from './run.js';

export interface ServeCommandOptions extends ServedOptions {
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  insecureListenAnywhere?: boolean;
  maxReceives: number;
  maxReceivesPerClient: number;
  maxSends: number;
  maxSendsPerClient: number;
  firstByteTimeout: number;
  logLevel: LogLevel;
}

/** What is served, and what to do when the server stops. */
export interface Backend {
  sender(): Sender;
  receiver(root: string | undefined, identity: string | undefined): Receiver;
  /** The receiver root when none is given. */
  defaultRoot: string | undefined;
  close(): void;
}

function checkedRoot(root: string, option: string): string {
  const problem = relativePathProblem(root);
  if (problem !== undefined) throw new UsageError(`${option} "${root}" is invalid: ${problem}`);
  return root;
}

/** `--memory FIXTURE[?root=DATASET]`: a receiver's fixture is created if missing and saved at the end. */
export function memoryBackend(spec: string, role: 'sender' | 'receiver'): Backend {
  const [file = '', query] = spec.split('?', 2);
  const params = new URLSearchParams(query ?? '');
  const root = params.get('root') ?? undefined;
  if (root !== undefined) checkedRoot(root, '--memory root');
  let pool: MemoryPool;
  if (file !== '' && existsSync(file)) {
    try {
      pool = MemoryPool.fromFixture(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new UsageError(`${file}: ${(cause as Error).message}`, { cause });
    }
  } else if (role === 'sender') {
    throw new UsageError(`--memory: the sender's fixture ${JSON.stringify(file)} does not exist`);
  } else {
    pool = new MemoryPool({ seed: 'receiver' });
  }
  return {
    sender: () => memorySender(pool, root),
    receiver: (base, identity) =>
      memoryReceiver(
        pool,
        identity === undefined ? (base ?? 'backup') : `${base ?? 'backup'}/${identity}`,
        {
          resumable: true,
        },
      ),
    defaultRoot: root,
    close() {
      if (role === 'receiver' && file !== '') {
        writeFileSync(file, `${JSON.stringify(pool.toFixture(), null, 2)}\n`);
      }
    },
  };
}

export function zfsBackend(root: string, trustStreamProperties: boolean): Backend {
  checkedRoot(root, '--zfs');
  return {
    sender: () => zfsSender({ root }),
    receiver: (base, identity) =>
      zfsReceiver({
        root: identity === undefined ? (base ?? root) : `${base ?? root}/${identity}`,
        trustStreamProperties,
      }),
    defaultRoot: root,
    close: () => undefined,
  };
}

/** `receiver` without `destroySnapshots`: what a server offers unless told to let clients prune. */
export function withoutPrune(receiver: Receiver): Receiver {
  return {
    listFilesystems: (signal) => receiver.listFilesystems(signal),
    listFilesystemVersions: (fs, signal) => receiver.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => receiver.waitForConnectivity(signal),
    receive: (req, stream, signal) => receiver.receive(req, stream, signal),
  };
}

/**
 * One receiver per client identity, made on first use; clients may destroy snapshots below
 * their root (pruning their receiver) only with `allowPrune`.
 */
export function perIdentity(
  backend: Backend,
  allowPrune = false,
): (client: ClientInfo) => Receiver {
  const receivers = new Map<string, Receiver>();
  return ({ identity }) => {
    const key = identity ?? '';
    let receiver = receivers.get(key);
    if (receiver === undefined) {
      receiver = backend.receiver(backend.defaultRoot, identity);
      if (!allowPrune) receiver = withoutPrune(receiver);
      receivers.set(key, receiver);
    }
    return receiver;
  };
}

/** What `serve` and `stdio` both take: the role and the one local endpoint they serve. */
export interface ServedOptions {
  role: 'sender' | 'receiver';
  zfs?: string;
  memory?: string;
  trustStreamProperties?: boolean;
  allowPrune?: boolean;
}

/** Registers `--role`, `--zfs ROOT` and `--memory FIXTURE` on `command` (`serve`, `stdio`). */
export function addServedOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--role <role>', 'what to serve')
        .choices(['sender', 'receiver'])
        .makeOptionMandatory(),
    )
    .option('--zfs <root>', 'serve the datasets below ROOT through the local zfs command')
    .option('--memory <fixture>', 'serve a simulated pool from FIXTURE.json[?root=DATASET]');
}

/**
 * The backend `--zfs` or `--memory` names, after the checks `serve` and `stdio` share: exactly
 * one of the two, `--allow-prune` and `--trust-stream-properties` for what they apply to.
 */
export function servedBackend(options: ServedOptions, commandName: string): Backend {
  if ((options.zfs === undefined) === (options.memory === undefined)) {
    throw new UsageError(`${commandName} needs exactly one of --zfs ROOT and --memory FIXTURE`);
  }
  if (options.allowPrune === true && options.role !== 'receiver') {
    throw new UsageError('--allow-prune applies to --role receiver only');
  }
  const trustStreamProperties = options.trustStreamProperties === true;
  if (trustStreamProperties && (options.zfs === undefined || options.role !== 'receiver')) {
    throw new UsageError('--trust-stream-properties applies to --role receiver with --zfs only');
  }
  return options.zfs !== undefined
    ? zfsBackend(options.zfs, trustStreamProperties)
    : memoryBackend(options.memory as string, options.role);
}

async function serveCommand(options: ServeCommandOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const backend = servedBackend(options, 'serve');
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  if (options.tlsCa !== undefined && options.tlsCert === undefined) {
    throw new UsageError('--tls-ca (client certificates) needs --tls-cert and --tls-key');
  }
  const tls =
    options.tlsCert !== undefined && options.tlsKey !== undefined
      ? await loadServerTls({
          cert: options.tlsCert,
          key: options.tlsKey,
          ...(options.tlsCa !== undefined && { ca: options.tlsCa }),
        }).catch((cause: unknown) => {
          throw new UsageError((cause as Error).message, { cause });
        })
      : undefined;
  const logger = createLogger(options.logLevel, io.stderr, { readable: io.isTTY });
  if (options.trustStreamProperties === true) logger.warn({ root: options.zfs }, TRUST_WARNING);
  const common = {
    listen: options.listen,
    ...(tls !== undefined && { tls }),
    insecureListenAnywhere: options.insecureListenAnywhere === true,
    limits: {
      receives: options.maxReceives,
      receivesPerClient: options.maxReceivesPerClient,
      sends: options.maxSends,
      sendsPerClient: options.maxSendsPerClient,
      firstByteTimeoutMs: options.firstByteTimeout,
    },
    logger,
  };
  // A sender serves every (authenticated) client alike; a receiver keeps clients apart.
  const serveOptions: ServeOptions =
    options.role === 'sender'
      ? { ...common, role: 'sender', endpoint: backend.sender() }
      : {
          ...common,
          role: 'receiver',
          endpoint: perIdentity(backend, options.allowPrune === true),
        };
  const interrupt = interruptible(io);
  let served = false;
  try {
    let server;
    try {
      server = await startServer(serveOptions);
    } catch (cause) {
      throw new UsageError((cause as Error).message, { cause });
    }
    served = true;
    io.stdout.write(`serving a ${options.role} at ${server.url} (Ctrl-C stops)\n`);
    await new Promise<void>((resolve) =>
      interrupt.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await server.close();
    return EXIT.interrupted;
  } finally {
    // A server that never started changed nothing: no fixture is written.
    if (served) backend.close();
    interrupt.dispose();
  }
}

/** A `--max-...` option: a positive integer, the excess refused with a status clients retry. */
function limit(flags: string, description: string, key: keyof typeof DEFAULT_LIMITS): Option {
  const option = flags.split(' ')[0] ?? flags;
  return new Option(flags, `${description} (more are refused; clients retry)`)
    .argParser((v) => parseInteger(v, option, 1))
    .default(DEFAULT_LIMITS[key]);
}

/** Registers `serve`. */
export function registerServe(program: Command, ctx: CommandContext): void {
  addServedOptions(
    program
      .command('serve')
      .description('serve a local endpoint over gRPC, for `--from`/`--to grpc://HOST:PORT`')
      .requiredOption('--listen <host:port>', 'where to listen, e.g. 127.0.0.1:7000'),
  )
    .option('--tls-cert <file>', 'server certificate (PEM)')
    .option('--tls-key <file>', 'server private key (PEM)')
    .option('--tls-ca <file>', 'CA of client certificates: requires them (mutual TLS)')
    .option('--insecure-listen-anywhere', 'allow plaintext beyond loopback (trusted networks only)')
    .option('--trust-stream-properties', TRUST_HELP)
    .option(
      '--allow-prune',
      'receiver: let clients destroy snapshots below their root (their jobs prune it); held ' +
        'snapshots and the newest of each filesystem stay',
    )
    .addOption(limit('--max-receives <n>', 'receive streams at once, all clients', 'receives'))
    .addOption(
      limit(
        '--max-receives-per-client <n>',
        'receive streams at once per client',
        'receivesPerClient',
      ),
    )
    .addOption(limit('--max-sends <n>', 'send streams at once, all clients', 'sends'))
    .addOption(
      limit('--max-sends-per-client <n>', 'send streams at once per client', 'sendsPerClient'),
    )
    .addOption(
      new Option(
        '--first-byte-timeout <duration>',
        'end a receive whose first bytes have not come by then',
      )
        .argParser((v) => parseDuration(v, '--first-byte-timeout'))
        .default(DEFAULT_LIMITS.firstByteTimeoutMs, `${DEFAULT_LIMITS.firstByteTimeoutMs / 1000}s`),
    )
    .action(async (_options: unknown, command: Command) => {
      ctx.exit(await serveCommand(command.optsWithGlobals<ServeCommandOptions>(), ctx));
    });
}
