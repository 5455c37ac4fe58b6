/**
 * Which `zfs send` options a send uses. Defaults keep data safe and small: an encrypted dataset
 * is sent raw (`-w`: ciphertext, never decrypted unless asked), and compressed (`-c`), large
 * blocks (`-L`) and embedded data (`-e`) are used where zfs send offers them. An option asked
 * for that this zfs lacks is an error naming the pool version, never dropped.
 */
import type { ZfsCapabilities } from './capabilities.js';

/** `zfs send` options of a zfs sender; undefined means the default. */
export interface ZfsSendOptions {
  /** `-w`: send blocks as stored (ciphertext). Default: raw for encrypted datasets only. */
  raw?: boolean;
  /** Allow an encrypted dataset to be sent decrypted (not raw). Default false. */
  sendDecrypted?: boolean;
  /** `-c`: blocks as compressed on disk. Default: where zfs send has `-c`. */
  compressed?: boolean;
  /** `-L`: blocks larger than 128 KiB as they are. Default: where zfs send has `-L`. */
  largeBlocks?: boolean;
  /** `-e`: embedded-data blocks as they are. Default: where zfs send has `-e`. */
  embeddedData?: boolean;
  /** `-p`: the dataset's properties in the stream. Default false (receivers refuse them). */
  properties?: boolean;
  /** `-b`: the received properties as the dataset's own. Default false. */
  backupProperties?: boolean;
}

const KNOWN: ReadonlySet<string> = new Set([
  'raw',
  'sendDecrypted',
  'compressed',
  'largeBlocks',
  'embeddedData',
  'properties',
  'backupProperties',
]);

/** Throws a clear error for an unknown option or a value that is not a boolean. */
export function assertSendOptions(options: ZfsSendOptions): void {
  for (const [name, value] of Object.entries(options)) {
    if (!KNOWN.has(name)) {
      throw new Error(
        `unknown zfs send option ${JSON.stringify(name)} (known: ${[...KNOWN].join(', ')})`,
      );
    }
    if (value !== undefined && typeof value !== 'boolean') {
      throw new Error(
        `zfs send option ${name} must be true or false, not ${JSON.stringify(value)}`,
      );
    }
  }
  if (options.raw === true && options.sendDecrypted === true) {
    throw new Error('zfs send options raw and sendDecrypted contradict each other: choose one');
  }
}

/** What the pool is, for errors: `pool version 23` or `OpenZFS feature flags`. */
function poolDescription(caps: ZfsCapabilities): string {
  return caps.poolVersion === 'feature-flags'
    ? 'a pool with feature flags'
    : `pool version ${caps.poolVersion}`;
}

const FLAGS: readonly [keyof ZfsSendOptions, string, string][] = [
  ['compressed', 'c', 'compressed sends'],
  ['largeBlocks', 'L', 'large-block sends'],
  ['embeddedData', 'e', 'embedded-data sends'],
];

/**
 * The option flags of `zfs send` for a dataset (`encrypted`: its `encryption` is not `off`).
 * Throws when an option asked for is not offered by this zfs, or when an encrypted dataset
 * would be sent decrypted without `sendDecrypted`.
 */
export function sendFlags(
  options: ZfsSendOptions,
  caps: ZfsCapabilities,
  dataset: string,
  encrypted: boolean,
): string[] {
  const has = (flag: string): boolean => caps.sendFlags.includes(flag);
  const missing = (what: string, flag: string, feature = ''): Error =>
    new Error(
      `${what} (zfs send -${flag}) are not supported here: ${dataset} is on ${poolDescription(caps)}` +
        `${feature} and its zfs send offers only -${caps.sendFlags}`,
    );
  const flags: string[] = [];
  if (encrypted && options.raw === false && options.sendDecrypted !== true) {
    throw new Error(
      `refusing to send encrypted ${dataset} decrypted: send it raw (the default), or allow ` +
        'decrypted sends explicitly (sendDecrypted, --send-decrypted)',
    );
  }
  const raw = options.raw === true || (encrypted && options.sendDecrypted !== true);
  if (raw) {
    if (!has('w') || (encrypted && !caps.encryption)) {
      throw missing('raw sends', 'w', ' without the encryption feature');
    }
    flags.push('-w');
  }
  for (const [option, flag, what] of FLAGS) {
    const wanted = options[option];
    if (wanted === true && !has(flag)) throw missing(what, flag);
    // A raw send carries blocks as stored already; -c -L -e only where asked for.
    if (wanted === true || (wanted === undefined && !raw && has(flag))) flags.push(`-${flag}`);
  }
  if (options.properties === true) flags.push('-p');
  if (options.backupProperties === true) {
    if (!has('b')) throw missing('backup-property sends', 'b');
    flags.push('-b');
  }
  return flags;
}
