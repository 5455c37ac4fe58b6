/**
 * The daemon's jobs for the page (`@xrepl.daemon`): per job its state, next tick, last error
 * and last results, summarised from the runtime's status (what `xrepl status` shows) and
 * checked with `DaemonJobsSchema` before it is sent. Sent when it changed, and asked for once
 * a second while the daemon runs, so a next tick or a run's byte counter moves without an
 * actor changing state. The runs' reports themselves go with `@xrepl.report` (report-feed.ts);
 * the status builds each running job's report too, so it is paced like them (at most a tenth
 * of the time, src/report/pacer.ts).
 */
import { z } from 'zod';
import { progressPacer } from '../../src/report/pacer.js';
import { JOB_STATES } from '../../machines/job.machine.js';
import type { Report } from '../../src/report/schema.js';
import type { DaemonJobJson, Message, RunSummaryJson } from '../web/protocol.js';

/** What the feed reads of one job's status (src/jobs/runtime.ts `JobStatus`, structurally). */
export interface DaemonJobSource {
  name: string;
  type: string;
  state: string;
  cycles: number;
  nextTick: Date | null;
  lastError: { during: string; err: string; time: Date } | null;
  lastSnapshot: { name: string; datasets: readonly string[]; time: Date } | null;
  run: Report | null;
  lastPrune: {
    sender: { datasets: number; destroyed: number } | null;
    receiver: { datasets: number; destroyed: number } | null;
  };
  serving: { url: string | null; error: string | null } | null;
}

/** What the feed needs of the daemon (the `JobRuntime`). */
export interface DaemonSource {
  status(): { jobs: readonly DaemonJobSource[] };
}

const Iso = z.iso.datetime({ offset: true });
const Prune = z.strictObject({
  datasets: z.number().int().nonnegative(),
  destroyed: z.number().int().nonnegative(),
});
const RunSummary = z.strictObject({
  state: z.string(),
  startAt: Iso,
  finishAt: Iso.nullable(),
  attempts: z.number().int().nonnegative(),
  filesystems: z.number().int().nonnegative(),
  done: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
});

/** The jobs of a `@xrepl.daemon` message, as JSON. */
export const DaemonJobsSchema = z.array(
  z.strictObject({
    name: z.string().min(1),
    type: z.enum(['push', 'pull', 'snap', 'sink', 'source']),
    state: z.enum(JOB_STATES),
    cycles: z.number().int().nonnegative(),
    nextTick: Iso.nullable(),
    lastError: z.strictObject({ during: z.string(), err: z.string(), time: Iso }).nullable(),
    lastSnapshot: z
      .strictObject({ name: z.string(), datasets: z.number().int().nonnegative(), time: Iso })
      .nullable(),
    run: RunSummary.nullable(),
    lastPrune: z.strictObject({ sender: Prune.nullable(), receiver: Prune.nullable() }),
    serving: z
      .strictObject({ url: z.string().nullable(), error: z.string().nullable() })
      .nullable(),
  }),
);

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** A run's report in a few numbers: its state, times, and its last attempt's filesystems. */
export function runSummary(report: Report): RunSummaryJson {
  const fss = report.attempts.at(-1)?.filesystems ?? [];
  let bytes = 0;
  for (const fs of fss) for (const s of fs.steps) bytes += s.info.bytesReplicated;
  return {
    state: report.state,
    startAt: report.startAt.toISOString(),
    finishAt: iso(report.finishAt),
    attempts: report.attempts.length,
    filesystems: fss.length,
    done: fss.filter((f) => f.state === 'done').length,
    failed: fss.filter((f) => f.state.endsWith('error')).length,
    bytes,
  };
}

/** One job's status as the page's JSON. */
export function daemonJobJson(job: DaemonJobSource): DaemonJobJson {
  const prune = (p: { datasets: number; destroyed: number } | null) =>
    p === null ? null : { datasets: p.datasets, destroyed: p.destroyed };
  return {
    name: job.name,
    type: job.type,
    state: job.state,
    cycles: job.cycles,
    nextTick: iso(job.nextTick),
    lastError:
      job.lastError === null
        ? null
        : { during: job.lastError.during, err: job.lastError.err, time: iso(job.lastError.time)! },
    lastSnapshot:
      job.lastSnapshot === null
        ? null
        : {
            name: job.lastSnapshot.name,
            datasets: job.lastSnapshot.datasets.length,
            time: job.lastSnapshot.time.toISOString(),
          },
    run: job.run === null ? null : runSummary(job.run),
    lastPrune: { sender: prune(job.lastPrune.sender), receiver: prune(job.lastPrune.receiver) },
    serving: job.serving === null ? null : { url: job.serving.url, error: job.serving.error },
  };
}

export interface DaemonFeedOptions {
  /** Called when a frame should be built (once a second while a daemon is attached). */
  requestFlush: () => void;
  /** How often to ask for a frame (default 1000 ms). */
  intervalMs?: number;
  /** The clock that times status building, ms (default performance.now). */
  now?: () => number;
}

export class DaemonFeed {
  /** Statuses sent, the last error (of status() or of its check). */
  readonly stats = { sent: 0, error: null as string | null };
  private source: DaemonSource | null = null;
  private lastText = '';
  private timer: ReturnType<typeof setInterval> | null = null;
  private pacer = progressPacer();

  constructor(private readonly options: DaemonFeedOptions) {}

  /** Follows this daemon's jobs from now on. */
  attach(source: DaemonSource): void {
    this.stop();
    this.source = source;
    this.lastText = '';
    this.pacer = progressPacer();
    this.timer = setInterval(() => this.options.requestFlush(), this.options.intervalMs ?? 1000);
    this.options.requestFlush();
  }

  /** The daemon message for the next frame, or none if nothing changed. */
  messages(): Message[] {
    if (this.source === null) return [];
    const now = this.options.now ?? (() => performance.now());
    const t0 = now();
    if (!this.pacer.due(t0)) return [];
    try {
      const jobs = this.source.status().jobs.map(daemonJobJson);
      const text = JSON.stringify(jobs);
      if (text === this.lastText) return [];
      DaemonJobsSchema.parse(jobs);
      this.lastText = text;
      this.stats.sent++;
      return [{ type: '@xrepl.daemon', createdAt: String(Date.now()), jobs }];
    } catch (err) {
      this.stats.error = err instanceof Error ? err.message : String(err);
      return [];
    } finally {
      this.pacer.spent(t0, now());
    }
  }

  /** Stops asking for frames (the last frame still carries what changed). */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
