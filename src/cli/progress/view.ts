/**
 * What the progress display shows, derived from a report: one row per filesystem of the
 * latest attempt, and run-wide totals. Pure: the same report gives the same view.
 */
import type {
  AttemptState,
  BlockedOn,
  FilesystemReport,
  FilesystemState,
  Report,
  RunState,
} from '../../report/schema.js';

export interface FilesystemRow {
  name: string;
  state: FilesystemState;
  blockedOn: BlockedOn;
  /** The step running or next (1-based); `steps` once all are done; 0 while planning. */
  step: number;
  steps: number;
  /** Bytes replicated in this attempt, and expected (0 = unknown: a step without an estimate). */
  bytes: number;
  expected: number;
  /** Steps done in this attempt. */
  stepsDone: number;
  error: string | null;
  /** Re-plans and retries in this attempt (D13, D14), and the error behind the latest. */
  replans: number;
  retries: number;
  retryError: string | null;
  /** In `retry-wait`: when the retry starts. */
  retryAt: Date | null;
}

export interface ProgressView {
  state: RunState;
  /** 1-based number of the latest attempt; 0 before the first. */
  attempt: number;
  attemptState: AttemptState | null;
  planError: string | null;
  waitReconnect: { until: Date | null; error: string | null } | null;
  startAt: Date;
  finishAt: Date | null;
  rows: FilesystemRow[];
  /** Bytes moved in the whole run, failed transfers included. */
  bytes: number;
  /**
   * The total bar: every byte moved so far, of those plus what this attempt still expects.
   * (Bytes of a failed transfer count as moved: resumed, they are not sent again.)
   */
  barDone: number;
  /** 0 when a size is unknown (no estimate): the bar then counts this attempt's steps. */
  barTotal: number;
  /** Steps of this attempt: done and planned. */
  attemptSteps: { done: number; total: number };
  /** Steps completed in the whole run: snapshots that arrived. */
  stepsDone: number;
}

/** Whether a filesystem has ended (done or with an error). */
export function isFinished(row: Pick<FilesystemRow, 'state'>): boolean {
  return row.state === 'done' || row.state === 'planning-error' || row.state === 'step-error';
}

function rowOf(fs: FilesystemReport): FilesystemRow {
  const steps = fs.steps.length;
  const planned = fs.state !== 'planning' && fs.state !== 'planning-error';
  let bytes = 0;
  let expected = 0;
  let unknown = false;
  for (const { info } of fs.steps) {
    bytes += info.bytesReplicated;
    expected += Math.max(info.bytesExpected, info.bytesReplicated);
    if (info.bytesExpected === 0) unknown = true;
  }
  return {
    name: fs.info.name,
    state: fs.state,
    blockedOn: fs.blockedOn,
    step: !planned ? 0 : fs.currentStep >= steps ? steps : fs.currentStep + 1,
    steps,
    bytes,
    expected: unknown ? 0 : expected,
    stepsDone: Math.min(fs.currentStep, steps),
    error: fs.planError?.err ?? fs.stepError?.err ?? null,
    replans: fs.replans,
    retries: fs.retries,
    retryError: fs.retryError?.err ?? null,
    retryAt: fs.retryAt,
  };
}

/** The view of `report`. */
export function progressView(report: Report): ProgressView {
  const latest = report.attempts.at(-1);
  const rows = (latest?.filesystems ?? []).map(rowOf);
  let bytes = 0;
  let stepsDone = 0;
  for (const attempt of report.attempts) {
    for (const fs of attempt.filesystems) {
      bytes += fs.steps.reduce((sum, s) => sum + s.info.bytesReplicated, 0);
      stepsDone += Math.min(fs.currentStep, fs.steps.length);
    }
  }
  const current = rows.reduce((sum, r) => sum + r.bytes, 0);
  const expected = rows.reduce((sum, r) => sum + r.expected, 0);
  const sizeKnown = rows.every((r) => r.steps === 0 || r.expected > 0);
  const earlier = bytes - current;
  return {
    state: report.state,
    attempt: report.attempts.length,
    attemptState: latest?.state ?? null,
    planError: latest?.planError?.err ?? null,
    waitReconnect:
      report.state === 'waiting-reconnect' || report.waitReconnectError !== null
        ? { until: report.waitReconnectUntil, error: report.waitReconnectError?.err ?? null }
        : null,
    startAt: report.startAt,
    finishAt: report.finishAt,
    rows,
    bytes,
    barDone: bytes,
    barTotal: sizeKnown ? earlier + expected : 0,
    attemptSteps: {
      done: rows.reduce((sum, r) => sum + r.stepsDone, 0),
      total: rows.reduce((sum, r) => sum + r.steps, 0),
    },
    stepsDone,
  };
}

/** The error that ended the run, if any: the attempt's plan error or the filesystems' errors. */
export function runErrors(view: ProgressView): string[] {
  const errors: string[] = [];
  if (view.waitReconnect?.error) errors.push(`reconnect: ${view.waitReconnect.error}`);
  if (view.planError !== null) errors.push(`planning: ${view.planError}`);
  for (const row of view.rows) if (row.error !== null) errors.push(`${row.name}: ${row.error}`);
  return errors;
}
