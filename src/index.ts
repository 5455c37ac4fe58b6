// The public types use Node's (AbortSignal, streams): kept in the .d.ts (preserve), so consumers
// get them whatever their `types` say.
/// <reference types="node" preserve="true" />
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
export { ConfigError } from './errors/config-error.js';
export { StalePlanError } from './errors/stale-plan.js';
export { StepStalledError } from './errors/step-stalled.js';
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

// The planner over two endpoints (REPLICATION.md), and the endpoints shipped with xrepl.
export { createPlanner, PlanningError, StaleResumeTokenError } from './planner/index.js';
export type {
  PlannerOptions,
  InitialPolicy,
  PlanningErrorKind,
  StaleResumeTokenPolicy,
} from './planner/index.js';
export type {
  Endpoint,
  Sender,
  Receiver,
  FilesystemVersion,
  EndpointFilesystem,
  ResumeTokenInfo,
  SendReq,
  ReceiveReq,
} from './endpoints/types.js';
export {
  MemoryPool,
  memorySender,
  memoryReceiver,
  Faults,
  parsePoolFixture,
} from './endpoints/memory/index.js';
export { zfsSender, zfsReceiver, ZfsError } from './endpoints/zfs/index.js';
