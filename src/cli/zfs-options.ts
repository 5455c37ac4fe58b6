/**
 * The options of zfs: endpoints on the command line (`replicate`, `serve`): the job naming holds
 * and cursor bookmarks, `zfs send` options, and receive-side property overrides.
 */
import { Option, type Command } from 'commander';
import type { ZfsEndpointOptions } from '../endpoints/zfs/index.js';
import { jobNameProblem } from '../endpoints/zfs/holds.js';
import type { ZfsSendOptions } from '../endpoints/zfs/send-options.js';
import { quote } from '../errors/quote.js';
import { UsageError } from './io.js';

/** What commander parses from the options `addZfsOptions` registers. */
export interface ZfsCliOptions {
  job?: string;
  raw?: boolean;
  sendDecrypted?: boolean;
  compressed?: boolean;
  largeBlocks?: boolean;
  embeddedData?: boolean;
  sendProperties?: boolean;
  backupProperties?: boolean;
  recvSet?: Record<string, string>;
  recvExclude?: string[];
}

/** The zfs sender's and receiver's options from the command line. */
export interface ZfsEndpointCliOptions {
  sender: Pick<ZfsEndpointOptions, 'job' | 'send'>;
  receiver: Pick<ZfsEndpointOptions, 'job' | 'recvSet' | 'recvExclude'>;
}

function parseJob(text: string): string {
  const problem = jobNameProblem(text);
  if (problem !== undefined) throw new UsageError(`--job: ${problem} (got ${quote(text)})`);
  return text;
}

function collectSet(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = text.indexOf('=');
  if (eq < 1) {
    throw new UsageError(`--recv-set takes PROPERTY=VALUE, e.g. canmount=off (got ${quote(text)})`);
  }
  return { ...previous, [text.slice(0, eq)]: text.slice(eq + 1) };
}

function collectExclude(text: string, previous: string[] = []): string[] {
  if (text === '') throw new UsageError('--recv-exclude takes a property name, e.g. mountpoint');
  return [...previous, text];
}

/** Registers the zfs endpoint options on `command`. */
export function addZfsOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--job <name>',
        'zfs: names the holds and cursor bookmarks (default "default")',
      ).argParser(parseJob),
    )
    .option('--raw', 'zfs: send raw (zfs send -w); the default for encrypted datasets')
    .option('--send-decrypted', 'zfs: allow encrypted datasets to be sent decrypted (not raw)')
    .option('--compressed', 'zfs: zfs send -c (default where zfs has it)')
    .option('--no-compressed', 'zfs: without zfs send -c')
    .option('--large-blocks', 'zfs: zfs send -L (default where zfs has it)')
    .option('--no-large-blocks', 'zfs: without zfs send -L')
    .option('--embedded-data', 'zfs: zfs send -e (default where zfs has it)')
    .option('--no-embedded-data', 'zfs: without zfs send -e')
    .option(
      '--send-properties',
      'zfs: zfs send -p (a receiver accepts it only with --trust-stream-properties)',
    )
    .option('--backup-properties', 'zfs: zfs send -b (likewise)')
    .addOption(
      new Option(
        '--recv-set <property=value>',
        'zfs: zfs recv -o for every receive (repeatable)',
      ).argParser(collectSet),
    )
    .addOption(
      new Option(
        '--recv-exclude <property>',
        'zfs: zfs recv -x for every receive (repeatable)',
      ).argParser(collectExclude),
    );
}

/** The endpoint options of what `addZfsOptions` parsed. */
export function zfsEndpointOptions(options: ZfsCliOptions): ZfsEndpointCliOptions {
  const send: ZfsSendOptions = {
    ...(options.raw !== undefined && { raw: options.raw }),
    ...(options.sendDecrypted !== undefined && { sendDecrypted: options.sendDecrypted }),
    ...(options.compressed !== undefined && { compressed: options.compressed }),
    ...(options.largeBlocks !== undefined && { largeBlocks: options.largeBlocks }),
    ...(options.embeddedData !== undefined && { embeddedData: options.embeddedData }),
    ...(options.sendProperties !== undefined && { properties: options.sendProperties }),
    ...(options.backupProperties !== undefined && { backupProperties: options.backupProperties }),
  };
  if (send.raw === true && send.sendDecrypted === true) {
    throw new UsageError('--raw and --send-decrypted contradict each other: choose one');
  }
  const job = options.job === undefined ? {} : { job: options.job };
  return {
    sender: { ...job, ...(Object.keys(send).length > 0 && { send }) },
    receiver: {
      ...job,
      ...(options.recvSet !== undefined && { recvSet: options.recvSet }),
      ...(options.recvExclude !== undefined && { recvExclude: options.recvExclude }),
    },
  };
}

/** The flags given in `options` that only a zfs: sender (or receiver) can use. */
export function zfsOnlyFlags(
  options: ZfsEndpointCliOptions,
  role: 'sender' | 'receiver',
): string[] {
  if (role === 'sender') {
    return Object.keys(options.sender.send ?? {}).length > 0 ? ['send options'] : [];
  }
  return options.receiver.recvSet || options.receiver.recvExclude
    ? ['--recv-set/--recv-exclude']
    : [];
}
