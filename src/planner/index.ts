/**
 * The ZFS planner over endpoints (REPLICATION.md "Planner"): `createPlanner(sender, receiver)`
 * gives the driver's Planner; the pure pieces (incremental path, initial policies, resume) are
 * exported for tests and tools.
 */
export { createPlanner } from './planner.js';
export type { PlannerOptions } from './planner.js';
export { filesystemNaming } from './names.js';
export type { FilesystemNaming, NamingOptions } from './names.js';
export { ReplicationFS } from './fs.js';
export { ReplicationStep } from './step.js';
export { PlanningError } from './errors.js';
export type { PlanningErrorKind } from './errors.js';
export { EndpointUnreachableError } from './connectivity.js';
export { incrementalPath, initialTransfers, planTransfers, transfersAlong } from './incremental.js';
export type { InitialPolicy, Transfer } from './incremental.js';
export { resumeTransfers } from './resume.js';
export type { StaleResumeTokenPolicy } from './resume.js';
export { StaleResumeTokenError } from '../endpoints/stale-resume-token.js';
export { compareVersions, sortVersions } from './versions.js';
