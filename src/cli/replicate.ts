/**
 * `xrepl replicate --from <endpoint> --to <endpoint> [...]`: one run of the driver with the
 * planner over two endpoints, progress on stdout, logs on stderr, the report with `--json`.
 */
import { Option, type Command } from 'commander';
import {
  createPlanner,
  type InitialPolicy,
  type StaleResumeTokenPolicy,
} from '../planner/index.js';
import { limitSender, parseBandwidth, TokenBucket } from '../transport/bandwidth.js';
import { ReportSchema, type Report } from '../report/schema.js';
import { datasetOf } from '../endpoints/paths.js';
import { selectionOf } from '../jobs/selection.js';
import type { CommandContext } from './context.js';
import { endpointHelp, openEndpoint, type OpenedEndpoint } from './endpoints.js';
import { UsageError } from './io.js';
import { createLogger } from './logger.js';
import { addZfsOptions, zfsEndpointOptions, type ZfsCliOptions } from './zfs-options.js';
import {
  parseDuration,
  parseFilesystems,
  parseInitialPolicy,
  parseInteger,
  parseStaleResumeTokenPolicy,
  parsePort,
  TRUST_HELP,
  TRUST_WARNING,
  type LogLevel,
} from './options.js';
import {
  displayFor,
  exitCodeOf,
  interruptible,
  openVisualizer,
  printOutcome,
  runReplication,
} from './run.js';

export interface ReplicateFlags extends ZfsCliOptions {
  from: string;
  to: string;
  concurrency: number;
  maxAttempts: number;
  reconnectTimeout: number;
  replanLimit: number;
  fsRetries: number;
  stallTimeout: number;
  initial: InitialPolicy;
  onStaleResumeToken: StaleResumeTokenPolicy;
  json?: boolean;
  visualize?: number;
  record?: string;
  trustStreamProperties?: boolean;
  /** `--bandwidth 50MiB`: bytes per second over all of the run's streams. */
  bandwidth?: number;
  filesystems?: Record<string, boolean>;
  logLevel: LogLevel;
}

/**
 * `--filesystems` as the planner's filter over root-relative paths: the patterns name full
 * datasets of `--from` (`zfs:tank/data` with `tank/data/home<`); `tank/data<` or `tank/data`
 * selects the root of `--from` itself (the path `""`), received into the root of `--to`.
 */
export function selectionFilter(
  from: string,
  patterns: Record<string, boolean>,
): (path: string) => boolean {
  const selection = selectionOf(patterns);
  const colon = from.indexOf(':');
  const root = from.startsWith('zfs:') ? from.slice(colon + 1) : '';
  if (root === '') {
    // Other schemes have no dataset name of their root: the patterns are root-relative.
    return (path) => selection.selects(path);
  }
  return (path) => selection.selects(datasetOf(root, path));
}

/**
 * The planner's `rootName` for `--from`: the last component of a `zfs:` dataset (`tank/data`
 * is `data`, a pool `tank` is `tank`), so with its root selected the report names `data` and
 * `data/home`. Other schemes cannot select their root (root-relative patterns are never `""`).
 */
export function rootNameOf(from: string): { rootName?: string } {
  if (!from.startsWith('zfs:')) return {};
  const root = from.slice('zfs:'.length);
  return root === '' ? {} : { rootName: root.slice(root.lastIndexOf('/') + 1) };
}

/** The report as JSON, checked against ReportSchema (a report that does not parse is a bug). */
export function reportJson(report: Report): string {
  const json = JSON.stringify(report, null, 2);
  ReportSchema.parse(JSON.parse(json));
  return json;
}

async function replicateCommand(options: ReplicateFlags, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const json = options.json === true;
  const interrupt = interruptible(io);
  const opened: OpenedEndpoint<unknown>[] = [];
  const display = displayFor(io, json);
  let visualizer = null;
  try {
    const zfs = zfsEndpointOptions(options);
    const sender = await openEndpoint(options.from, 'sender', ctx.schemes, {}, zfs.sender);
    opened.push(sender);
    const trustStreamProperties = options.trustStreamProperties === true;
    const receiver = await openEndpoint(options.to, 'receiver', ctx.schemes, {
      ...zfs.receiver,
      trustStreamProperties,
    });
    opened.push(receiver);
    const from =
      options.bandwidth === undefined
        ? sender.endpoint
        : limitSender(sender.endpoint, new TokenBucket({ bytesPerSecond: options.bandwidth }));
    const planner = createPlanner(from, receiver.endpoint, {
      initial: options.initial,
      onStaleResumeToken: options.onStaleResumeToken,
      ...(options.filesystems === undefined
        ? {}
        : { filesystems: selectionFilter(options.from, options.filesystems) }),
      ...rootNameOf(options.from),
    });
    const logger = createLogger(options.logLevel, io.stderr, {
      readable: io.isTTY,
      print: (write) => display.print(write),
    });
    if (trustStreamProperties) logger.warn({ receiver: options.to }, TRUST_WARNING);
    visualizer = await openVisualizer(
      options.visualize,
      options.record,
      json ? io.stderr : io.stdout,
    );
    const report = await runReplication({
      io,
      config: {
        stepQueueConcurrency: options.concurrency,
        maxAttempts: options.maxAttempts,
        reconnectHardFailTimeoutMs: options.reconnectTimeout,
        replanLimit: options.replanLimit,
        filesystemRetries: options.fsRetries,
        // Whole milliseconds (D1): `--stall-timeout 1.5ms` waits 2.
        stepStallTimeoutMs: Math.ceil(options.stallTimeout),
      },
      planner,
      logger,
      display,
      signal: interrupt.signal,
      visualizer,
    });
    if (json) io.stdout.write(`${reportJson(report)}\n`);
    printOutcome(io, report, json);
    return exitCodeOf(report);
  } finally {
    await visualizer?.close();
    for (const endpoint of opened.reverse()) await endpoint.close();
    interrupt.dispose();
  }
}

/** Registers `replicate`. */
export function registerReplicate(program: Command, ctx: CommandContext): void {
  const command = program
    .command('replicate')
    .description('replicate every filesystem of one endpoint to another')
    .requiredOption('--from <endpoint>', 'the sending side, e.g. zfs:tank/data')
    .requiredOption('--to <endpoint>', 'the receiving side, e.g. zfs:backup/host1')
    .addOption(
      new Option('--concurrency <n>', 'transfers and plannings running at once')
        .argParser((v) => parseInteger(v, '--concurrency', 1))
        .default(1),
    )
    .addOption(
      new Option('--max-attempts <n>', 'attempts before giving up, -1 for no limit')
        .argParser((v) => parseInteger(v, '--max-attempts', 1, [-1]))
        .default(3),
    )
    .addOption(
      new Option('--reconnect-timeout <duration>', 'how long to wait for a lost connection')
        .argParser((v) => parseDuration(v, '--reconnect-timeout'))
        .default(600_000, '10m'),
    )
    .addOption(
      new Option(
        '--replan-limit <n>',
        're-plans of a filesystem per attempt when its plan went stale (a snapshot vanished)',
      )
        .argParser((v) => parseInteger(v, '--replan-limit', 0))
        .default(3),
    )
    .addOption(
      new Option(
        '--fs-retries <n>',
        'retries of a filesystem per attempt after a lost connection, while the others run',
      )
        .argParser((v) => parseInteger(v, '--fs-retries', 0))
        .default(2),
    )
    .addOption(
      new Option(
        '--stall-timeout <duration>',
        'abort a transfer that has not moved a byte for this long (it is retried)',
      )
        .argParser((v) => parseDuration(v, '--stall-timeout'))
        .default(600_000, '10m'),
    )
    .addOption(
      new Option(
        '--initial <policy>',
        'first replication of a filesystem: most-recent, all or fail',
      )
        .argParser(parseInitialPolicy)
        .default('most-recent'),
    )
    .addOption(
      new Option(
        '--on-stale-resume-token <policy>',
        'an interrupted receive whose snapshot the sender no longer has: fail (say how to ' +
          'discard it) or clear (discard it and replicate anew)',
      )
        .argParser(parseStaleResumeTokenPolicy)
        .default('fail'),
    )
    .option('--json', 'print the final report as JSON on stdout (no progress display)')
    .addOption(
      new Option('--visualize <port>', 'serve the statechart visualizer on this port').argParser(
        (v) => parsePort(v, '--visualize'),
      ),
    )
    .option('--record <file>', 'record the run for `xrepl visualize --replay <file>`')
    .option('--trust-stream-properties', TRUST_HELP)
    .addOption(
      new Option(
        '--bandwidth <rate>',
        'at most this many bytes a second over all streams, e.g. 50MiB',
      ).argParser((v) => {
        try {
          return parseBandwidth(v);
        } catch (cause) {
          throw new UsageError(`--bandwidth: ${(cause as Error).message}`, { cause });
        }
      }),
    )
    .addOption(
      new Option(
        '--filesystems <patterns>',
        'replicate only these datasets: comma-separated, a/b (the dataset), a/b< (and below), !a/b excludes; the most specific wins',
      ).argParser(parseFilesystems),
    );
  addZfsOptions(command)
    .addHelpText('after', `\n${endpointHelp(ctx.schemes)}`)
    .action(async (_options: unknown, command: Command) => {
      ctx.exit(await replicateCommand(command.optsWithGlobals<ReplicateFlags>(), ctx));
    });
}
