/**
 * Errors of the zfs CLI backend. A failed `zfs`/`zpool` command keeps what zfs said: its argv,
 * exit code and stderr, so a report shows zfs's own words ("destination has been modified").
 */

/** The longest stderr excerpt put into an error message (the full stderr stays on `.stderr`). */
const MESSAGE_STDERR_LIMIT = 500;

/** What a finished command left behind. */
export interface ZfsExit {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * A `zfs` or `zpool` command that failed: non-zero exit, killed, or (for `zfs send`) output on
 * stderr. The message names the command and carries zfs's stderr (at least its first line).
 *
 * @example
 * try { await exec.run('zfs', ['list', 'tank/nope'], signal) }
 * catch (e) { if (e instanceof ZfsError && isDatasetMissing(e)) ... }
 */
export class ZfsError extends Error {
  override readonly name = 'ZfsError';
  /** The argv, program first, e.g. `['zfs', 'recv', '-u', 'backup/a@s1']`. */
  readonly command: readonly string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;

  constructor(command: readonly string[], exit: ZfsExit, options?: { cause?: unknown }) {
    super(zfsErrorMessage(command, exit), options);
    this.command = [...command];
    this.exitCode = exit.exitCode;
    this.signal = exit.signal;
    this.stderr = exit.stderr;
  }
}

function zfsErrorMessage(command: readonly string[], exit: ZfsExit): string {
  const how =
    exit.exitCode !== null
      ? `exit code ${exit.exitCode}`
      : exit.signal !== null
        ? `killed by ${exit.signal}`
        : 'failed';
  const said = stderrSummary(exit.stderr);
  return `${command.join(' ')}: ${how}${said === '' ? '' : `: ${said}`}`;
}

/** stderr on one line: the first line always, the following ones while short. */
export function stderrSummary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const [first, ...rest] = lines;
  if (first === undefined) return '';
  let summary = first;
  for (const line of rest) {
    if (summary.length + line.length + 1 > MESSAGE_STDERR_LIMIT) break;
    summary += ` ${line}`;
  }
  return summary;
}

/** True when zfs refused because a dataset (filesystem, snapshot, bookmark) does not exist. */
export function isDatasetMissing(err: unknown): boolean {
  return err instanceof ZfsError && /dataset does not exist/.test(err.stderr);
}

/** True when zfs (or zpool) rejected a property name: the feature is unknown to this zfs. */
export function isUnknownProperty(err: unknown): boolean {
  return err instanceof ZfsError && /invalid property|bad property list/.test(err.stderr);
}
