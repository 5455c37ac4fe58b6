/**
 * The live reports of attached replications (a lone run, or each daemon job's current run),
 * as `@xrepl.report` messages for the frames: each sent only when it changed, checked with
 * the zod `ReportSchema` (the first, the final, and at most one a second: every report comes
 * from runReport(), and parsing one costs ~30 ms at 2,000 filesystems), and asked for at
 * least once a second while a run goes on, so byte counters move even when no actor changes
 * state. Reports take at most a tenth of the time (src/report/pacer.ts): a large run's frames
 * go out without a report until one is due.
 */
import { progressPacer } from '../../src/report/pacer.js';
import { ReportSchema, type Report } from '../../src/report/schema.js';
import type { Message, ReportJson } from '../web/protocol.js';

/** What the feed needs of a Replication (`replicate()`'s result). */
export interface ReportSource {
  report(): Report;
  wait?(): Promise<unknown>;
}

export interface ReportFeedOptions {
  /** Called when a frame should be built (the periodic report, the run's end). */
  requestFlush: () => void;
  /** While the run goes on, ask for a frame this often (default 1000 ms). */
  intervalMs?: number;
  /** Check a report with ReportSchema at most this often (default 1000 ms; 0: every one). */
  validateEveryMs?: number;
  /** The clock that times report building, ms (default performance.now). */
  now?: () => number;
}

/** One followed replication: its last report sent, when it was last checked, its pace. */
interface Followed {
  source: ReportSource;
  /** The daemon job whose run it is; absent for a lone run. */
  job: string | undefined;
  lastText: string;
  lastValidated: number;
  /** Set once the run has ended: its final report always goes out, then it is let go. */
  ended: boolean;
  /** Building, checking and serializing reports takes at most a tenth of the time. */
  pacer: ReturnType<typeof progressPacer>;
}

export class ReportFeed {
  /** Reports sent, reports checked, time spent (ms), the last error. */
  readonly stats = { reports: 0, validations: 0, ms: 0, error: null as string | null };
  /** By job ('' for a lone run): a job's new run replaces its old one. */
  private readonly followed = new Map<string, Followed>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly options: ReportFeedOptions) {}

  /**
   * Follows this replication's report from now on, replacing the one followed for the same
   * job (a daemon's job; none for a lone run).
   */
  attach(source: ReportSource, job?: string): void {
    const entry: Followed = {
      source,
      job,
      lastText: '',
      lastValidated: -Infinity,
      ended: false,
      pacer: progressPacer(),
    };
    const key = job ?? '';
    this.followed.set(key, entry);
    if (this.timer === null) {
      this.timer = setInterval(() => this.options.requestFlush(), this.options.intervalMs ?? 1000);
    }
    this.options.requestFlush();
    source.wait?.().then(
      () => {
        if (this.followed.get(key) !== entry) return; // replaced, or stopped
        entry.ended = true;
        this.options.requestFlush();
      },
      () => {
        if (this.followed.get(key) === entry) this.let(key);
      },
    );
  }

  /** The report messages for the next frame: one for each report that changed. */
  messages(): Message[] {
    const out: Message[] = [];
    for (const [key, entry] of [...this.followed]) {
      const msg = this.message(entry);
      if (msg !== null) out.push(msg);
      if (entry.ended) this.let(key); // its final report is out (or was the same as the last)
    }
    return out;
  }

  private message(entry: Followed): Message | null {
    const now = this.options.now ?? (() => performance.now());
    const t0 = now();
    // A large run's report is expensive (0.3 s at 100,000 filesystems, and as much again to
    // check and serialize): skipped until due, except the final one.
    if (!entry.ended && !entry.pacer.due(t0)) return null;
    try {
      const report = entry.source.report();
      const at = Date.now();
      const final = report.state !== 'attempting' && report.state !== 'waiting-reconnect';
      if (final || at - entry.lastValidated >= (this.options.validateEveryMs ?? 1000)) {
        ReportSchema.parse(report);
        entry.lastValidated = at;
        this.stats.validations++;
      }
      const text = JSON.stringify(report);
      if (text === entry.lastText) return null;
      entry.lastText = text;
      this.stats.reports++;
      return {
        type: '@xrepl.report',
        createdAt: String(at),
        report: JSON.parse(text) as ReportJson,
        ...(entry.job === undefined ? {} : { job: entry.job }),
      };
    } catch (err) {
      this.stats.error = err instanceof Error ? err.message : String(err);
      return null;
    } finally {
      const t1 = now();
      this.stats.ms += t1 - t0;
      entry.pacer.spent(t0, t1);
    }
  }

  /** Stops following `key`; stops asking for frames once nothing is followed. */
  private let(key: string): void {
    this.followed.delete(key);
    if (![...this.followed.values()].some((f) => !f.ended)) this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops asking for frames (what is pending still goes out with the last frame). */
  stop(): void {
    this.clearTimer();
  }
}
