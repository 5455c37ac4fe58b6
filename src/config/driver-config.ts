/**
 * The driver's configuration (D1), validated with zod before anything starts. The schema is
 * the one source of the `DriverConfig` type.
 */
import { z } from 'zod';
import type { RunConfig } from '../../machines/run.machine.js';
import { ConfigError } from '../errors/config-error.js';

const finite = (what: string) =>
  z.number({ error: `${what} must be a number` }).refine(Number.isFinite, `${what} must be finite`);

export const DriverConfigSchema = z.object({
  /** Integer >= 1: plannings and steps running at once (D8). */
  stepQueueConcurrency: finite('stepQueueConcurrency').pipe(
    z
      .number()
      .int('stepQueueConcurrency must be an integer')
      .min(1, 'stepQueueConcurrency must be >= 1'),
  ),
  /** Integer >= 1, or -1 for unlimited (D2). */
  maxAttempts: finite('maxAttempts').pipe(
    z
      .number()
      .int('maxAttempts must be an integer')
      .refine((n) => n === -1 || n >= 1, 'maxAttempts must be >= 1, or -1 for unlimited'),
  ),
  /** > 0: how long to wait for connectivity after a temporary error (D2). */
  reconnectHardFailTimeoutMs: finite('reconnectHardFailTimeoutMs').pipe(
    z.number().positive('reconnectHardFailTimeoutMs must be > 0'),
  ),
  /** Integer >= 0, default 0: re-plans of one filesystem per attempt after a stale plan (D13). */
  replanLimit: finite('replanLimit')
    .pipe(z.number().int('replanLimit must be an integer').min(0, 'replanLimit must be >= 0'))
    .optional(),
  /** Integer >= 0, default 0: retries of one filesystem per attempt after a temporary error (D14). */
  filesystemRetries: finite('filesystemRetries')
    .pipe(
      z
        .number()
        .int('filesystemRetries must be an integer')
        .min(0, 'filesystemRetries must be >= 0'),
    )
    .optional(),
  /** Integer > 0, default 1000: the first retry's back-off, doubled per retry up to 60 s (D14). */
  filesystemRetryBackoffMs: finite('filesystemRetryBackoffMs')
    .pipe(
      z
        .number()
        .int('filesystemRetryBackoffMs must be an integer')
        .positive('filesystemRetryBackoffMs must be > 0'),
    )
    .optional(),
  /** Integer > 0, default none: a step whose bytes do not grow for this long is aborted (D15). */
  stepStallTimeoutMs: finite('stepStallTimeoutMs')
    .pipe(
      z
        .number()
        .int('stepStallTimeoutMs must be an integer')
        .positive('stepStallTimeoutMs must be > 0'),
    )
    .optional(),
});

export type DriverConfig = z.infer<typeof DriverConfigSchema>;

// The run chart takes the config as its input but cannot import this schema (machines/ imports
// nothing of src/): its RunConfig must stay exactly DriverConfig.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameAsRunConfig: Same<DriverConfig, RunConfig> & Same<keyof DriverConfig, keyof RunConfig> =
  true;
void sameAsRunConfig;

/** Issues of a zod error as `{ path, message }`, path dotted ("a.b.0"). */
export function zodIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

/** The validated config, or a ConfigError naming every invalid field. */
export function parseDriverConfig(input: unknown): DriverConfig {
  const result = DriverConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(zodIssues(result.error), 'driver configuration');
  return result.data;
}
