/** Types shared by the statecharts. Types only: no behaviour lives here. */
import type { FS, Step } from './contract.js';

/** An error as the report shows it, with the original kept for classification (D9). */
export interface TimedError {
  err: string;
  time: Date;
  cause: unknown;
}

/** Clock every recorded time comes from (injected: the machines never read a clock). */
export type Clock = () => Date;

/**
 * How the actors give the event loop a turn during long runs of synchronous work (injected:
 * the machines never touch timers). Steps that resolve at once, and the fan-out of a large
 * plan, would otherwise run as one unbroken chain of microtasks.
 */
export interface Scheduler {
  /** Runs `fn` now, or after the event loop had a turn when the current slice is used up. */
  run(fn: () => void): void;
  /** Runs `fn` after the event loop had a turn. */
  later(fn: () => void): void;
}

/** What a filesystem keeps of its corresponding filesystem in the previous attempt (D5). */
export interface PreviousPlan {
  /** The previous fs's steps from its `currentStep` on. */
  left: Step[];
}

/** One filesystem of an attempt's plan, ready to spawn. */
export interface PlannedFilesystem {
  fs: FS;
  name: string;
  /** Undefined unless the corresponding previous fs finished planning without error (D5). */
  previous?: PreviousPlan;
  /** How many ancestors the filesystem has in this attempt (D6). */
  ancestors: number;
}

/** The output of the `plan` actor: filesystems validated, correlated and related (D3). */
export interface PreparedPlan {
  filesystems: PlannedFilesystem[];
  /** descendants[i]: indices of every filesystem below filesystem i. */
  descendants: number[][];
}
