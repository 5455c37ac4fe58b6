/**
 * What a filesystem needs to heal itself within an attempt (D13, D14): the limits of the run's
 * config, the back-off, and the run's classification of errors. Off unless a limit is above 0.
 */
import type { ErrorClass } from './contract.js';
import type { TimedError } from './types.js';

/** The longest back-off before a retry (D14). */
export const MAX_RETRY_BACKOFF_MS = 60_000;

/** The default of `filesystemRetryBackoffMs` (D14). */
export const DEFAULT_RETRY_BACKOFF_MS = 1000;

/** What the run's config allows (the same for every filesystem of the run). */
export interface HealingLimits {
  /** Re-plans per filesystem after a `stale-plan` error (D13). */
  replanLimit: number;
  /** Retries per filesystem after a `temporary-connectivity` error (D14). */
  retryLimit: number;
  /** The first retry's back-off; doubled for each further retry, up to MAX_RETRY_BACKOFF_MS. */
  backoffMs: number;
  classify: (error: unknown) => ErrorClass;
}

/**
 * A filesystem's healing: the limits and what it did so far. One context field, not two: the
 * filesystem's context must stay within 19 fields, past which V8 keeps each copy XState's
 * `assign` makes as a dictionary (about 650 bytes more per filesystem, and slower).
 * Filesystems that never heal share the run's object; the first re-plan or retry copies it.
 */
export type Healing = HealingLimits & Healed;

/** The back-off before retry `i` (from 1): `min(backoffMs * 2^(i-1), 60000)` ms (D14). */
export function retryDelay(backoffMs: number, i: number): number {
  return Math.min(backoffMs * 2 ** Math.max(0, i - 1), MAX_RETRY_BACKOFF_MS);
}

/** What a filesystem did to heal itself in this attempt. */
export interface Healed {
  /** Re-plans started in this attempt (D13). */
  replans: number;
  /** Retries started in this attempt, counted when the wait before one begins (D14). */
  retries: number;
  /** The error that caused the latest re-plan or retry; kept after success. */
  retryError: TimedError | null;
  /** While in `retry-wait`: when the wait ends; else null. */
  retryAt: Date | null;
  /** Whether it was present on the receiver before it planned again (D6): it stays so. */
  present: boolean;
}

const NOT_HEALED: Healed = {
  replans: 0,
  retries: 0,
  retryError: null,
  retryAt: null,
  present: false,
};

/** Neither re-plans nor retries: the default, and D1-D12 exactly. */
export const NO_HEALING: Healing = {
  replanLimit: 0,
  retryLimit: 0,
  backoffMs: DEFAULT_RETRY_BACKOFF_MS,
  classify: () => 'permanent',
  ...NOT_HEALED,
};

/** The healing of a run's config (absent fields: their defaults, all off). */
export function healingOf(
  config: { replanLimit?: number; filesystemRetries?: number; filesystemRetryBackoffMs?: number },
  classify: (error: unknown) => ErrorClass,
): Healing {
  const replanLimit = config.replanLimit ?? 0;
  const retryLimit = config.filesystemRetries ?? 0;
  if (replanLimit === 0 && retryLimit === 0) return NO_HEALING;
  return {
    replanLimit,
    retryLimit,
    backoffMs: config.filesystemRetryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS,
    classify,
    ...NOT_HEALED,
  };
}
