/** Parsers of option values; each throws a UsageError naming the option and what it accepts. */
import { quote } from '../errors/quote.js';
import type { InitialPolicy, StaleResumeTokenPolicy } from '../planner/index.js';
import { parseSelectionList, patternProblem } from '../jobs/selection.js';
import { UsageError } from './io.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest duration accepted: 100 years. A deadline is now plus the duration, and a Date
 * holds no more than 8.64e15 ms from 1970 (the year 275760); longer durations cannot be
 * meant and would fail later with `Invalid time value`.
 */
export const MAX_DURATION_MS = 36_500 * 86_400_000;

/**
 * A duration such as `30s`, `5m`, `1h30m` or `250ms`, in milliseconds (> 0, at most 100 years).
 *
 * @example parseDuration('1m30s', '--reconnect-timeout') // 90000
 */
export function parseDuration(text: string, option: string): number {
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(text)
    ? [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)]
    : [];
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * (UNIT_MS[unit ?? ''] ?? NaN), 0);
  if (parts.length === 0 || !(ms > 0)) {
    throw new UsageError(
      `${option} takes a positive duration with a unit, e.g. 30s, 5m, 1h30m (got ${quote(text)})`,
    );
  }
  if (!(ms <= MAX_DURATION_MS)) {
    throw new UsageError(`${option} takes at most 36500d (100 years) (got ${quote(text)})`);
  }
  return ms;
}

/** An integer >= `min`; `alsoAllowed` lists extra accepted values (e.g. -1 for unlimited). */
export function parseInteger(
  text: string,
  option: string,
  min: number,
  alsoAllowed: readonly number[] = [],
): number {
  const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isSafeInteger(n) && (n >= min || alsoAllowed.includes(n))) return n;
  const extra = alsoAllowed.length > 0 ? ` (or ${alsoAllowed.join(', ')})` : '';
  throw new UsageError(`${option} takes an integer >= ${min}${extra} (got ${quote(text)})`);
}

const POLICIES: readonly InitialPolicy[] = ['most-recent', 'all', 'fail'];

/** `most-recent`, `all` or `fail`. */
export function parseInitialPolicy(text: string): InitialPolicy {
  const policy = POLICIES.find((p) => p === text);
  if (policy === undefined) {
    throw new UsageError(`--initial takes one of ${POLICIES.join(', ')} (got ${quote(text)})`);
  }
  return policy;
}

/** `fail` or `clear` (`--on-stale-resume-token`). */
export function parseStaleResumeTokenPolicy(text: string): StaleResumeTokenPolicy {
  if (text === 'fail' || text === 'clear') return text;
  throw new UsageError(`--on-stale-resume-token takes fail or clear (got ${quote(text)})`);
}

/** A TCP port, 0 to 65535 (0 picks a free one). */
export function parsePort(text: string, option: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new UsageError(`${option} takes a port from 0 to 65535 (got ${quote(text)})`);
  }
  return port;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A pino level name. */
export function parseLogLevel(text: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === text);
  if (level === undefined) {
    throw new UsageError(`--log-level takes one of ${LOG_LEVELS.join(', ')} (got ${quote(text)})`);
  }
  return level;
}

/** Help of `--trust-stream-properties` (replicate and serve). */
export const TRUST_HELP =
  'zfs: receiver: accept streams carrying dataset properties (zfs send -p) and keep them, ' +
  'mountpoint and setuid included (trusted senders only)';

/** Logged when a receiver trusts its senders' stream properties. */
export const TRUST_WARNING =
  'stream properties trusted (--trust-stream-properties): a sender may set mountpoint, setuid ' +
  'and any other property of the filesystems it sends';

/** `--filesystems a/b<,!a/b/tmp`: the patterns, each checked. */
export function parseFilesystems(text: string): Record<string, boolean> {
  const patterns = parseSelectionList(text);
  for (const pattern of Object.keys(patterns)) {
    const problem = patternProblem(pattern);
    if (problem !== undefined) {
      throw new UsageError(`--filesystems: invalid pattern ${quote(pattern)}: ${problem}`);
    }
  }
  if (!Object.values(patterns).some((v) => v)) {
    throw new UsageError(`--filesystems selects nothing (got ${quote(text)})`);
  }
  return patterns;
}
