/**
 * Progress without a terminal (a pipe, a log file, CI): one plain line per change of the
 * run, of an attempt, or of a filesystem's state or step. No escape sequences.
 */
import { formatProgress } from './format.js';
import type { FilesystemRow, ProgressView } from './view.js';

function fsLine(row: FilesystemRow): string {
  const step = row.step > 0 ? ` ${row.step}/${row.steps}` : '';
  const bytes = row.step > 0 ? ` ${formatProgress(row.bytes, row.expected)}` : '';
  const error = row.error !== null ? `: ${row.error}` : '';
  return `${row.name}: ${row.state}${step}${bytes}${error}${healing(row)}`;
}

/** Why a filesystem waits to retry or plans again (D13, D14), and when it retries. */
function healing(row: FilesystemRow): string {
  if (row.state === 'retry-wait' && row.retryAt !== null)
    return ` (retry ${row.retries} at ${row.retryAt.toISOString()}: ${row.retryError ?? ''})`;
  if (row.state === 'planning' && row.replans > 0)
    return ` (re-plan ${row.replans}: ${row.retryError ?? ''})`;
  return '';
}

/** Remembers what was printed; `lines(view)` returns the lines for what changed since. */
export class ChangeLines {
  private run = '';
  private attempt = '';
  private readonly filesystems = new Map<string, string>();

  lines(view: ProgressView): string[] {
    const out: string[] = [];
    const attemptKey = `${view.attempt}:${view.attemptState}`;
    const error = view.planError !== null ? `: ${view.planError}` : '';
    const attemptLine = `attempt ${view.attempt}: ${view.attemptState}${error}`;
    const changed = view.attempt > 0 && attemptKey !== this.attempt;
    const isNew = view.attempt !== Number(this.attempt.split(':')[0]);
    this.attempt = attemptKey;
    // An attempt that ended is announced after its filesystems' last lines, any other change before.
    const ended = view.attemptState !== 'planning' && view.attemptState !== 'fan-out-filesystems';
    if (isNew) this.filesystems.clear();
    if (changed && !ended) out.push(attemptLine);
    for (const row of view.rows) {
      const key = `${row.state}:${row.step}:${row.error ?? ''}:${row.replans}:${row.retries}`;
      if (this.filesystems.get(row.name) === key) continue;
      this.filesystems.set(row.name, key);
      out.push(fsLine(row));
    }
    if (changed && ended) out.push(attemptLine);
    const runKey = `${view.state}:${view.waitReconnect?.error ?? ''}`;
    if (runKey !== this.run) {
      this.run = runKey;
      if (view.state === 'waiting-reconnect') {
        const until = view.waitReconnect?.until?.toISOString() ?? 'the deadline';
        out.push(`run: waiting-reconnect until ${until}`);
      } else if (view.state !== 'attempting') {
        const error = view.waitReconnect?.error ? `: ${view.waitReconnect.error}` : '';
        out.push(`run: ${view.state}${error}`);
      }
    }
    return out;
  }
}
