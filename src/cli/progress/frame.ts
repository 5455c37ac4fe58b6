/**
 * One frame of the TTY progress display, as lines of text: a header, a row per filesystem
 * (capped, with "... N more"), and a total bar. Pure, so a test can snapshot it.
 */
import {
  bar,
  clip,
  fit,
  formatBytes,
  formatDuration,
  formatProgress,
  formatRate,
} from './format.js';
import { isFinished, type FilesystemRow, type ProgressView } from './view.js';

export interface FrameOptions {
  /** Terminal width: every line is cut to fit on one row. */
  columns: number;
  /** Filesystem rows shown at most; the rest are summed up in one line. */
  maxRows: number;
  /** The display's clock, ms: elapsed time of a running run. */
  now: number;
  /** Rates by filesystem name, bytes/s. */
  rates: ReadonlyMap<string, number>;
  /** Rate of the whole run, bytes/s. */
  totalRate: number;
}

/** Lower sorts first when rows must be left out: errors, then transfers, then waiting, then done. */
function priority(row: FilesystemRow): number {
  if (row.error !== null) return 0;
  if (!isFinished(row) && row.blockedOn === 'nothing') return 1;
  if (!isFinished(row)) return 2;
  return 3;
}

/** The rows to show (in planner order) and the ones left out. */
export function visibleRows(
  rows: readonly FilesystemRow[],
  maxRows: number,
): { shown: FilesystemRow[]; hidden: FilesystemRow[] } {
  if (rows.length <= maxRows) return { shown: [...rows], hidden: [] };
  const keep = new Set(
    rows
      .map((row, index) => ({ row, index }))
      .sort((a, b) => priority(a.row) - priority(b.row) || a.index - b.index)
      .slice(0, Math.max(0, maxRows - 1)) // one line goes to "... N more"
      .map((r) => r.row),
  );
  return {
    shown: rows.filter((r) => keep.has(r)),
    hidden: rows.filter((r) => !keep.has(r)),
  };
}

function countBy(rows: readonly FilesystemRow[]): string {
  const done = rows.filter((r) => r.state === 'done').length;
  const failed = rows.filter((r) => r.error !== null).length;
  const active = rows.filter((r) => !isFinished(r) && r.blockedOn === 'nothing').length;
  const waiting = rows.length - done - failed - active;
  return [
    done > 0 && `${done} done`,
    active > 0 && `${active} active`,
    waiting > 0 && `${waiting} waiting`,
    failed > 0 && `${failed} failed`,
  ]
    .filter(Boolean)
    .join(', ');
}

/** `12:00:05 UTC (in 3.0s)`: when a retry-wait ends. */
function when(at: Date, now: number): string {
  return `${at.toISOString().slice(11, 19)} UTC (in ${formatDuration(at.getTime() - now)})`;
}

function note(row: FilesystemRow, now: number): string {
  if (row.error !== null) return row.error;
  // D14: when it retries, and why.
  if (row.state === 'retry-wait' && row.retryAt !== null)
    return `retry ${row.retries} at ${when(row.retryAt, now)}: ${row.retryError ?? ''}`;
  // D13: planning again, and why.
  if (row.state === 'planning' && row.replans > 0)
    return `re-plan ${row.replans}: ${row.retryError ?? ''}`;
  if (row.blockedOn !== 'nothing' && !isFinished(row)) return `waiting: ${row.blockedOn}`;
  return '';
}

function header(view: ProgressView, now: number): string {
  const end = view.finishAt?.getTime() ?? now;
  const elapsed = formatDuration(end - view.startAt.getTime());
  const done = view.rows.filter((r) => r.state === 'done').length;
  const attempt = view.attempt > 0 ? `attempt ${view.attempt}: ${view.attemptState}` : 'starting';
  return `${view.state}  ${attempt}  ${done}/${view.rows.length} filesystems done  ${elapsed}`;
}

/** The frame of `view`, one string per terminal line. */
export function renderFrame(view: ProgressView, options: FrameOptions): string[] {
  const width = Math.max(20, options.columns - 1);
  const lines = [header(view, options.now)];
  if (view.state === 'waiting-reconnect' && view.waitReconnect !== null) {
    const until = view.waitReconnect.until?.toISOString().slice(11, 19) ?? '?';
    lines.push(`  connection lost; waiting to reconnect until ${until} UTC`);
  }
  if (view.planError !== null) lines.push(`  planning failed: ${view.planError}`);
  const { shown, hidden } = visibleRows(view.rows, options.maxRows);
  const nameWidth = Math.min(40, Math.max(10, ...shown.map((r) => r.name.length)));
  for (const row of shown) {
    const rate = options.rates.get(row.name) ?? 0;
    const active = row.state === 'stepping' && row.blockedOn === 'nothing';
    const cells = [
      fit(row.name, nameWidth),
      fit(row.state, 14),
      fit(row.step > 0 ? `${row.step}/${row.steps}` : '-', 7),
      fit(row.steps > 0 ? formatProgress(row.bytes, row.expected) : '', 21),
      active ? (rate > 0 ? formatRate(rate) : '') : note(row, options.now),
    ];
    lines.push(`  ${cells.join(' ').trimEnd()}`);
  }
  if (hidden.length > 0) lines.push(`  ... ${hidden.length} more (${countBy(hidden)})`);
  const rate =
    view.finishAt === null && options.totalRate > 0 ? `  ${formatRate(options.totalRate)}` : '';
  const { done, total } = view.attemptSteps;
  const [fraction, amount] =
    view.barTotal > 0
      ? [
          view.barDone / view.barTotal,
          `${formatBytes(view.barDone)} / ${formatBytes(view.barTotal)}`,
        ]
      : [
          total > 0 ? done / total : view.state === 'done' ? 1 : 0,
          `${done}/${total} steps, ${formatBytes(view.barDone)}`,
        ];
  lines.push(
    `${bar(fraction, 30)} ${String(Math.floor(fraction * 100)).padStart(3)}%  ${amount}${rate}`,
  );
  return lines.map((line) => clip(line, width));
}
