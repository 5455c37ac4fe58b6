/**
 * xrepl: zrepl's replication driver as XState v5 statecharts. The public API of DRIVER.md.
 */
export type {
  FilesystemInfo,
  StepInfo,
  Step,
  FS,
  Planner,
  ErrorClass,
  Logger,
} from './driver/types.js';
export { replicate } from './driver/replicate.js';
export type { DriverConfig, ReplicateOptions, Replication, RunActor } from './driver/replicate.js';
export { classifyError } from './errors/classify.js';
export { ConfigError } from './errors/configError.js';
export { ReportSchema } from './report/schema.js';
export type {
  Report,
  AttemptReport,
  FilesystemReport,
  ReportTimedError as TimedError,
  RunState,
  AttemptState,
  FilesystemState,
  BlockedOn,
} from './report/schema.js';
