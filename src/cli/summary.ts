/** The closing lines of a run: what arrived, how much, how long, and what went wrong. */
import type { Report } from '../report/schema.js';
import { formatBytes, formatDuration } from './progress/format.js';
import { progressView, runErrors } from './progress/view.js';

export interface RunSummary {
  state: Report['state'];
  filesystems: number;
  /** Steps completed in the run: snapshots that arrived on the receiver. */
  snapshots: number;
  bytes: number;
  attempts: number;
  durationMs: number;
  errors: string[];
}

/** The numbers of a finished run. */
export function summarize(report: Report): RunSummary {
  const view = progressView(report);
  return {
    state: report.state,
    filesystems: view.rows.length,
    snapshots: view.stepsDone,
    bytes: view.bytes,
    attempts: view.attempt,
    durationMs: (report.finishAt ?? report.startAt).getTime() - report.startAt.getTime(),
    errors: runErrors(view),
  };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `done: 3 filesystems, 5 snapshots, 1.2 MiB in 0.4s (1 attempt)`. */
export function summaryLine(s: RunSummary): string {
  return (
    `${s.state}: ${plural(s.filesystems, 'filesystem')}, ${plural(s.snapshots, 'snapshot')} ` +
    `received, ${formatBytes(s.bytes)} in ${formatDuration(s.durationMs)} ` +
    `(${plural(s.attempts, 'attempt')})`
  );
}
