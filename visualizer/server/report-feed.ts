/**
 * The live report of an attached replication, as `@xrepl.report` messages for the frames:
 * sent only when it changed, checked with the zod `ReportSchema` (the first, the final, and
 * at most one a second: every report comes from runReport(), and parsing one costs ~30 ms at
 * 2,000 filesystems), and asked for at least once a second while the run goes on, so byte
 * counters move even when no actor changes state. Reports take at most a tenth of the time
 * (src/report/pacer.ts): a large run's frames go out without a report until one is due.
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

export class ReportFeed {
  /** Reports sent, reports checked, time spent (ms), the last error. */
  readonly stats = { reports: 0, validations: 0, ms: 0, error: null as string | null };
  private source: ReportSource | null = null;
  private lastText = '';
  private lastValidated = -Infinity;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Set once the source's run has ended: its final report always goes out. */
  private ended = false;
  /** Building, checking and serializing reports takes at most a tenth of the time. */
  private pacer = progressPacer();

  constructor(private readonly options: ReportFeedOptions) {}

  /** Follows this replication's report from now on (replacing any other). */
  attach(source: ReportSource): void {
    this.source = source;
    this.lastText = '';
    this.lastValidated = -Infinity;
    this.ended = false;
    this.pacer = progressPacer();
    this.stop();
    this.timer = setInterval(() => this.options.requestFlush(), this.options.intervalMs ?? 1000);
    this.options.requestFlush();
    source.wait?.().then(
      () => {
        if (this.source !== source || this.timer === null) return; // replaced, or stopped
        this.ended = true;
        this.stop();
        this.options.requestFlush();
      },
      () => {
        if (this.source === source) this.stop();
      },
    );
  }

  /** The report message for the next frame, or none if the report did not change. */
  messages(): Message[] {
    if (this.source === null) return [];
    const now = this.options.now ?? (() => performance.now());
    const t0 = now();
    // A large run's report is expensive (0.3 s at 100,000 filesystems, and as much again to
    // check and serialize): skipped until due, except the final one.
    if (!this.ended && !this.pacer.due(t0)) return [];
    try {
      const report = this.source.report();
      const now = Date.now();
      const final = report.state !== 'attempting' && report.state !== 'waiting-reconnect';
      if (final || now - this.lastValidated >= (this.options.validateEveryMs ?? 1000)) {
        ReportSchema.parse(report);
        this.lastValidated = now;
        this.stats.validations++;
      }
      const text = JSON.stringify(report);
      if (text === this.lastText) return [];
      this.lastText = text;
      this.stats.reports++;
      return [
        { type: '@xrepl.report', createdAt: String(now), report: JSON.parse(text) as ReportJson },
      ];
    } catch (err) {
      this.stats.error = err instanceof Error ? err.message : String(err);
      return [];
    } finally {
      const t1 = now();
      this.stats.ms += t1 - t0;
      this.pacer.spent(t0, t1);
    }
  }

  /** Stops asking for frames. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
