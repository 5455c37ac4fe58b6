/**
 * The report, computed from the actors' snapshots (D11): the statecharts are the single source
 * of truth. Linear in filesystems plus steps; every call builds fresh objects and Dates.
 */
import type { SnapshotFrom } from 'xstate';
import type { runMachine } from '../../machines/run.machine.js';
import type { attemptMachine } from '../../machines/attempt.machine.js';
import {
  blockedOn,
  filesystemHealing,
  filesystemState,
  type FilesystemSnapshot,
} from '../../machines/filesystem.machine.js';
import type { TimedError } from '../../machines/types.js';
import type {
  AttemptReport,
  AttemptState,
  FilesystemReport,
  Report,
  ReportTimedError,
  RunState,
} from '../report/schema.js';
import type { Step, StepInfo } from './types.js';

type RunSnapshot = SnapshotFrom<typeof runMachine>;
type AttemptSnapshot = SnapshotFrom<typeof attemptMachine>;

/** The top-level state name of a snapshot value: `'done'` or `{ stepping: 'running' }`. */
function topState(value: unknown): string {
  if (typeof value === 'string') return value;
  for (const key in value as object) return key;
  return '';
}

function date(d: Date): Date {
  return new Date(d.getTime());
}

function dateOrNull(d: Date | null): Date | null {
  return d === null ? null : new Date(d.getTime());
}

function timedError(e: TimedError | null): ReportTimedError | null {
  return e === null ? null : { err: e.err, time: new Date(e.time.getTime()) };
}

/** Exactly the StepInfo fields, read live from the step (D11). */
export function stepInfo(step: Step): StepInfo {
  try {
    const i = step.reportInfo();
    return {
      from: String(i.from),
      to: String(i.to),
      resumed: Boolean(i.resumed),
      bytesExpected: Number(i.bytesExpected) || 0,
      bytesReplicated: Number(i.bytesReplicated) || 0,
    };
  } catch {
    // A step that cannot report must not break report(): show it as unknown.
    return { from: '', to: '', resumed: false, bytesExpected: 0, bytesReplicated: 0 };
  }
}

export function filesystemReport(snapshot: FilesystemSnapshot): FilesystemReport {
  const { context } = snapshot;
  const healed = filesystemHealing(snapshot);
  const steps = context.steps ?? [];
  const stepReports: { info: StepInfo }[] = new Array(steps.length);
  for (let i = 0; i < steps.length; i++) stepReports[i] = { info: stepInfo(steps[i] as Step) };
  return {
    info: { name: context.name },
    state: filesystemState(snapshot),
    blockedOn: blockedOn(snapshot),
    planError: timedError(context.planError),
    stepError: timedError(context.stepError),
    currentStep: context.currentStep,
    steps: stepReports,
    replans: healed.replans,
    retries: healed.retries,
    retryError: timedError(healed.retryError),
    retryAt: dateOrNull(healed.retryAt),
  };
}

/** A filesystem of the plan whose actor the fan-out has not started yet: it will first ask
 * for a planning slot, so it is waiting for one (the attempt starts filesystems in chunks). */
function notStartedReport(name: string): FilesystemReport {
  return {
    info: { name },
    state: 'planning',
    blockedOn: 'plan-queue',
    planError: null,
    stepError: null,
    currentStep: 0,
    steps: [],
    replans: 0,
    retries: 0,
    retryError: null,
    retryAt: null,
  };
}

function filesystemReports(
  context: AttemptSnapshot['context'],
  from: number,
  to: number,
  out: FilesystemReport[],
): void {
  const started = context.filesystems.length;
  const planned = context.plan?.filesystems ?? [];
  for (let i = from; i < to; i++) {
    out.push(
      i < started
        ? filesystemReport(
            (context.filesystems[i] as (typeof context.filesystems)[number]).getSnapshot(),
          )
        : notStartedReport((planned[i] as (typeof planned)[number]).name),
    );
  }
}

function filesystemCount(context: AttemptSnapshot['context']): number {
  return Math.max(context.filesystems.length, context.plan?.filesystems.length ?? 0);
}

function attemptReportWith(
  snapshot: AttemptSnapshot,
  filesystems: FilesystemReport[],
): AttemptReport {
  const { context } = snapshot;
  return {
    state: topState(snapshot.value) as AttemptState,
    startAt: date(context.startAt),
    finishAt: dateOrNull(context.finishAt),
    planError: timedError(context.planError),
    filesystems,
  };
}

export function attemptReport(snapshot: AttemptSnapshot): AttemptReport {
  const filesystems: FilesystemReport[] = [];
  filesystemReports(snapshot.context, 0, filesystemCount(snapshot.context), filesystems);
  return attemptReportWith(snapshot, filesystems);
}

function runReportWith(snapshot: RunSnapshot, attempts: AttemptReport[]): Report {
  const { context } = snapshot;
  return {
    state: topState(snapshot.value) as RunState,
    startAt: date(context.startAt),
    finishAt: dateOrNull(context.finishAt),
    waitReconnectSince: dateOrNull(context.waitReconnectSince),
    waitReconnectUntil: dateOrNull(context.waitReconnectUntil),
    waitReconnectError: timedError(context.waitReconnectError),
    attempts,
  };
}

export function runReport(snapshot: RunSnapshot): Report {
  return runReportWith(
    snapshot,
    snapshot.context.attempts.map((a) => attemptReport(a.getSnapshot())),
  );
}

/**
 * The same report as runReport, built `slice` filesystems at a time with `turn()` awaited in
 * between, so a report of 100,000 filesystems does not hold the event loop for its whole
 * build. Only for a run that has ended: its snapshots no longer change between slices.
 */
export async function runReportInSlices(
  snapshot: RunSnapshot,
  turn: () => Promise<void>,
  slice = 5000,
): Promise<Report> {
  const attempts: AttemptReport[] = [];
  let since = 0;
  for (const ref of snapshot.context.attempts) {
    const attempt = ref.getSnapshot();
    const count = filesystemCount(attempt.context);
    const filesystems: FilesystemReport[] = [];
    for (let from = 0; from < count; from += slice) {
      if (since >= slice) {
        await turn();
        since = 0;
      }
      const to = Math.min(count, from + slice);
      filesystemReports(attempt.context, from, to, filesystems);
      since += to - from;
    }
    attempts.push(attemptReportWith(attempt, filesystems));
  }
  return runReportWith(snapshot, attempts);
}
