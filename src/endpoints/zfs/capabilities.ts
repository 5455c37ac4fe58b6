/**
 * What the pool and the zfs binary support, probed once per endpoint: zfs-fuse (pool version
 * 23) has no bookmarks, no resumable receive and no `send -n -P` size estimate; OpenZFS pools
 * with feature flags usually have all three. The backend does without whatever is missing.
 */
import { ZfsError } from './errors.js';
import type { ZfsExec } from './exec.js';

export interface ZfsCapabilities {
  /** The pool's version: a number for legacy pools (zfs-fuse: 23), `feature-flags` on OpenZFS. */
  poolVersion: number | 'feature-flags';
  /** `zfs bookmark` and `#bookmark` incremental sources (pool feature `bookmarks`). */
  bookmarks: boolean;
  /** `zfs recv -s`, `receive_resume_token` and `zfs send -t` (feature `extensible_dataset`). */
  resumeTokens: boolean;
  /** `zfs send -n -P` size estimates. */
  sendDryRun: boolean;
  /** `zfs recv -o property=value` and `-x property` (OpenZFS; zfs-fuse has neither). */
  recvProperties: boolean;
  /**
   * Step holds and the last-received hold (`zfs hold`, `zfs release`): used on OpenZFS only.
   * zfs-fuse (pool version 23) can hold, but cannot list holds (`zfs holds` fails there), so
   * stale holds could not be found again: xrepl takes none there.
   */
  holds: boolean;
  /** Encrypted datasets and raw sends (pool feature `encryption`). */
  encryption: boolean;
  /** The one-letter options `zfs send` offers (zfs-fuse: `RDp`; OpenZFS adds `w c L e b`...). */
  sendFlags: string;
}

/** What a pool without any optional feature supports (zfs-fuse, as xrepl uses it). */
export const MINIMAL_CAPABILITIES: ZfsCapabilities = Object.freeze({
  poolVersion: 23,
  bookmarks: false,
  resumeTokens: false,
  sendDryRun: false,
  recvProperties: false,
  holds: false,
  encryption: false,
  sendFlags: 'DRp',
});

/** The pool of a dataset name: its first component. */
export function poolOf(dataset: string): string {
  return dataset.split('/')[0] ?? dataset;
}

/**
 * The values of `zpool get <properties> <pool>` (the table form with a header: zfs-fuse has no
 * `zpool get -H`), by property name.
 */
export function parseZpoolGet(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [name, property, value] = line.trim().split(/\s+/);
    if (name === undefined || property === undefined || value === undefined) continue;
    if (name === 'NAME' && property === 'PROPERTY') continue;
    values.set(property, value);
  }
  return values;
}

/** The pool version from `zpool get version`: `-` (or 5000) means feature flags. */
export function parsePoolVersion(value: string | undefined): number | 'feature-flags' {
  if (value === '-' || value === '5000') return 'feature-flags';
  if (value !== undefined && /^\d+$/.test(value)) return Number(value);
  throw new Error(`zpool get version: unexpected value ${JSON.stringify(value)}`);
}

/**
 * What `zfs send` offers, read from the usage it prints when called without arguments
 * (zfs-fuse: `send [-RDp] [-[iI] snapshot] <snapshot>`; OpenZFS lists `-n`, `-P` and `-t`).
 */
export function parseSendUsage(usage: string): {
  dryRun: boolean;
  resume: boolean;
  flags: string;
} {
  const listed = [...usage.matchAll(/\bsend \[-([A-Za-z]+)\]/g)].map((m) => m[1] ?? '').join('');
  const flags = [...new Set(listed)].sort().join('');
  return {
    dryRun: flags.includes('n') && flags.includes('P'),
    resume: /\bsend\b[^\n]*-t <?receive_resume_token/.test(usage),
    flags,
  };
}

/**
 * Whether `zfs recv` takes `-o property=value` and `-x property`, read from the usage it prints
 * when called without arguments (zfs-fuse: `receive [-vnF] <filesystem|volume|snapshot>`).
 */
export function parseRecvUsage(usage: string): { properties: boolean } {
  // `zfs receive` prints only its own synopses: OpenZFS lists `[-o <property>=<value>] ...
  // [-x <property>] ...` in them.
  return { properties: /\[-o [^\]]+\]/.test(usage) && /\[-x [^\]]+\]/.test(usage) };
}

function featureOn(value: string | undefined): boolean {
  return value === 'enabled' || value === 'active';
}

async function usageOf(
  exec: ZfsExec,
  command: 'send' | 'receive',
  signal: AbortSignal,
): Promise<string> {
  try {
    // Without arguments a zfs command prints its usage and fails; the usage is what we want.
    const { stderr } = await exec.run('zfs', [command], signal);
    return stderr;
  } catch (err) {
    if (err instanceof ZfsError) return err.stderr;
    throw err;
  }
}

async function poolFeatures(
  exec: ZfsExec,
  pool: string,
  signal: AbortSignal,
): Promise<Map<string, string>> {
  try {
    const { stdout } = await exec.run(
      'zpool',
      ['get', 'feature@bookmarks,feature@extensible_dataset,feature@encryption', pool],
      signal,
    );
    return parseZpoolGet(stdout);
  } catch (err) {
    // An older zpool that knows no such feature: the pool has none of them.
    if (err instanceof ZfsError) return new Map();
    throw err;
  }
}

/** Asks zpool and zfs what `pool` supports (four or five quick commands). */
export async function probeCapabilities(
  exec: ZfsExec,
  pool: string,
  signal: AbortSignal,
): Promise<ZfsCapabilities> {
  const { stdout } = await exec.run('zpool', ['get', 'version', pool], signal);
  const poolVersion = parsePoolVersion(parseZpoolGet(stdout).get('version'));
  const usage = parseSendUsage(await usageOf(exec, 'send', signal));
  const recvProperties = parseRecvUsage(await usageOf(exec, 'receive', signal)).properties;
  if (poolVersion !== 'feature-flags') {
    // Bookmarks and resumable streams need pool features, which legacy pools do not have.
    return {
      poolVersion,
      bookmarks: false,
      resumeTokens: false,
      sendDryRun: usage.dryRun,
      recvProperties,
      holds: false,
      encryption: false,
      sendFlags: usage.flags,
    };
  }
  const features = await poolFeatures(exec, pool, signal);
  return {
    poolVersion,
    bookmarks: featureOn(features.get('feature@bookmarks')),
    resumeTokens: usage.resume && featureOn(features.get('feature@extensible_dataset')),
    sendDryRun: usage.dryRun,
    recvProperties,
    holds: true,
    encryption: featureOn(features.get('feature@encryption')) && usage.flags.includes('w'),
    sendFlags: usage.flags,
  };
}

/** A probe is a few instant commands; longer means zfs hangs, and the next call tries again. */
const PROBE_TIMEOUT_MS = 60_000;

/** Resolves `promise`, or rejects with `signal.reason` as soon as `signal` aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Probes once and remembers the answer; a failed probe (pool not imported yet) is retried by
 * the next call. `fixed` skips probing altogether.
 */
export function capabilityCache(
  exec: ZfsExec,
  pool: string,
  fixed?: ZfsCapabilities,
): (signal: AbortSignal) => Promise<ZfsCapabilities> {
  let probe: Promise<ZfsCapabilities> | undefined = fixed && Promise.resolve(fixed);
  return (signal) => {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (probe === undefined) {
      // The shared probe has its own lifetime: one caller's abort must not fail the others.
      const current = probeCapabilities(exec, pool, AbortSignal.timeout(PROBE_TIMEOUT_MS));
      probe = current;
      current.catch(() => {
        if (probe === current) probe = undefined;
      });
    }
    return raceAbort(probe, signal);
  };
}
