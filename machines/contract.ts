/**
 * The statecharts' contract with the world (DRIVER.md "Public API"). The driver knows nothing
 * of ZFS: a Planner yields filesystems (FS), each FS plans its Steps, and a Step transfers one
 * snapshot. Types only; `src/` re-exports them (src/driver/types.ts).
 */

/** What the report shows of a filesystem. */
export interface FilesystemInfo {
  name: string;
}

/** What the report shows of a step; read live on every report() call. */
export interface StepInfo {
  /** "" for a full (initial) send. */
  from: string;
  to: string;
  resumed: boolean;
  /** 0 = unknown. */
  bytesExpected: number;
  /** Live value while the step runs. */
  bytesReplicated: number;
}

/** One transfer, e.g. a full send of `@a` or an incremental send `@a -> @b`. */
export interface Step {
  /** True iff this step and `other` (same fs, maybe a previous attempt) have the same target. */
  targetEquals(other: Step): boolean;
  /** Creation time of the target snapshot; orders the step queue (D8). */
  targetDate(): Date;
  step(signal: AbortSignal): Promise<void>;
  reportInfo(): StepInfo;
}

/** One dataset to replicate. */
export interface FS {
  /** True if this FS and `other` refer to the same filesystem of a previous attempt (D3). */
  equalToPreviousAttempt(other: FS): boolean;
  /** Optional fast path for D3: two FSs correspond exactly when their keys are equal. */
  correspondenceKey?(): string;
  planFS(signal: AbortSignal): Promise<Step[]>;
  reportInfo(): FilesystemInfo;
}

/** Plans an attempt: which filesystems to replicate. */
export interface Planner {
  plan(signal: AbortSignal): Promise<FS[]>;
  /** Resolves once both sides are reachable again (D2). */
  waitForConnectivity(signal: AbortSignal): Promise<void>;
}

/**
 * What cures an error (D9): nothing (`permanent`), a reconnect (`temporary-connectivity`, D2,
 * D14), or re-planning the filesystem (`stale-plan`, D13).
 */
export type ErrorClass = 'permanent' | 'temporary-connectivity' | 'stale-plan';
