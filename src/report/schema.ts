/**
 * The report (D11) as zod schemas: the single source of its types. `ReportSchema` parses a
 * report, or its JSON (ISO date strings), back into a Report with Dates.
 */
import { z } from 'zod';

const DateSchema = z.union([
  z.date(),
  z.iso.datetime({ offset: true }).transform((s) => new Date(s)),
]);

export const TimedErrorSchema = z.object({ err: z.string(), time: DateSchema });

export const StepInfoSchema = z.object({
  from: z.string(),
  to: z.string(),
  resumed: z.boolean(),
  bytesExpected: z.number().nonnegative(),
  bytesReplicated: z.number().nonnegative(),
});

export const FilesystemInfoSchema = z.object({ name: z.string() });

export const RunStateSchema = z.enum([
  'attempting',
  'waiting-reconnect',
  'done',
  'failed',
  'cancelled',
]);
export const AttemptStateSchema = z.enum([
  'planning',
  'planning-error',
  'fan-out-filesystems',
  'filesystem-error',
  'done',
]);
export const FilesystemStateSchema = z.enum([
  'planning',
  'planning-error',
  'stepping',
  'retry-wait',
  'step-error',
  'done',
]);
export const BlockedOnSchema = z.enum([
  'nothing',
  'plan-queue',
  'parent-initial-repl',
  'repl-queue',
  'retry-backoff',
]);

export const FilesystemReportSchema = z.object({
  info: FilesystemInfoSchema,
  state: FilesystemStateSchema,
  blockedOn: BlockedOnSchema,
  planError: TimedErrorSchema.nullable(),
  stepError: TimedErrorSchema.nullable(),
  currentStep: z.number().int().nonnegative(),
  steps: z.array(z.object({ info: StepInfoSchema })),
  /** Re-plans started in this attempt (D13). */
  replans: z.number().int().nonnegative(),
  /** Retries started in this attempt (D14). */
  retries: z.number().int().nonnegative(),
  /** The error that caused the latest re-plan or retry; kept after success (D13, D14). */
  retryError: TimedErrorSchema.nullable(),
  /** While in `retry-wait`: when the wait ends; else null (D14). */
  retryAt: DateSchema.nullable(),
});

export const AttemptReportSchema = z.object({
  state: AttemptStateSchema,
  startAt: DateSchema,
  finishAt: DateSchema.nullable(),
  planError: TimedErrorSchema.nullable(),
  filesystems: z.array(FilesystemReportSchema),
});

export const ReportSchema = z.object({
  state: RunStateSchema,
  startAt: DateSchema,
  finishAt: DateSchema.nullable(),
  waitReconnectSince: DateSchema.nullable(),
  waitReconnectUntil: DateSchema.nullable(),
  waitReconnectError: TimedErrorSchema.nullable(),
  attempts: z.array(AttemptReportSchema),
});

export type Report = z.output<typeof ReportSchema>;
export type AttemptReport = z.output<typeof AttemptReportSchema>;
export type FilesystemReport = z.output<typeof FilesystemReportSchema>;
export type ReportTimedError = z.output<typeof TimedErrorSchema>;
export type RunState = z.output<typeof RunStateSchema>;
export type AttemptState = z.output<typeof AttemptStateSchema>;
export type FilesystemState = z.output<typeof FilesystemStateSchema>;
export type BlockedOn = z.output<typeof BlockedOnSchema>;
