/**
 * The daemon at run time: the daemon chart with the job chart's work provided, one schedule
 * per job sending TICKs, metrics fed from what the work returns, and the status every job
 * reports. Everything of the world comes in through `JobDeps` and `Timers`, so tests run it
 * with a fake clock.
 */
import { createActor, fromPromise, type ActorRefFrom } from 'xstate';
import { daemonMachine, type DaemonJob } from '../../machines/daemon.machine.js';
import { jobMachine, type JobError, type JobState } from '../../machines/job.machine.js';
import type { Replication } from '../driver/replicate.js';
import { classifyError } from '../errors/classify.js';
import type { Report } from '../report/schema.js';
import type { Config, PullJob, PushJob, SnapJob } from './config.js';
import type { JobMetrics } from './metrics.js';
import {
  behindSince,
  pruneJob,
  replicateJob,
  takeSnapshots,
  type JobDeps,
  type SnapshotResult,
} from './operations.js';
import type { PruneResult } from './pruning/run.js';
import { nextTick, schedule, type Timers } from './schedule.js';
import { isRunnable, pairOf } from './sides.js';

export interface PruneSummary {
  side: 'sender' | 'receiver';
  datasets: number;
  destroyed: number;
  /** `dataset@name` of what was destroyed. */
  destroyedNames: string[];
}

export interface DatasetStatus {
  dataset: string;
  /** Creation of the oldest sender snapshot the receiver lacks; null when current. */
  behindSince: Date | null;
  lastSuccess: Date | null;
}

/** What `xrepl status` shows of one job (JSON-able). */
export interface JobStatus {
  name: string;
  type: 'push' | 'snap' | 'pull';
  state: JobState;
  lastError: JobError | null;
  cycles: number;
  nextTick: Date | null;
  lastSnapshot: SnapshotResult | null;
  /** The run in progress, else the last run's report. */
  run: Report | null;
  lastPrune: { sender: PruneSummary | null; receiver: PruneSummary | null };
  datasets: DatasetStatus[];
}

export interface DaemonStatus {
  jobs: JobStatus[];
}

export interface RuntimeOptions {
  config: Config;
  deps: JobDeps;
  timers: Timers;
  metrics?: JobMetrics;
  /** Inspection observer for the daemon, its jobs and their runs (the visualizer). */
  inspect?: JobDeps['inspect'];
  /** Called with each replication as it starts (the visualizer's live report). */
  onRun?: (replication: Replication) => void;
}

type Runnable = PushJob | SnapJob | PullJob;

function summarize(result: PruneResult): PruneSummary {
  const destroyedNames = result.datasets.flatMap((d) =>
    d.verdicts.filter((v) => v.destroy).map((v) => `${d.dataset}@${v.name}`),
  );
  return {
    side: result.side,
    datasets: result.datasets.length,
    destroyed: result.destroyed,
    destroyedNames,
  };
}

/** Bytes and completed steps per filesystem of a run's last attempt. */
function transferred(report: Report): Map<string, { bytes: number; steps: number }> {
  const out = new Map<string, { bytes: number; steps: number }>();
  for (const fs of report.attempts.at(-1)?.filesystems ?? []) {
    const bytes = fs.steps.reduce((sum, s) => sum + s.info.bytesReplicated, 0);
    out.set(fs.info.name, { bytes, steps: fs.currentStep });
  }
  return out;
}

/** Thrown for a job name the daemon does not run. */
export class UnknownJobError extends Error {
  override readonly name = 'UnknownJobError';
}

/**
 * Runs the jobs of a config until `stop()`.
 *
 * @example
 * const daemon = new JobRuntime({ config, deps, timers: realTimers });
 * daemon.start();
 * daemon.wakeup('home-to-backup');
 * await daemon.stop();
 */
export class JobRuntime {
  private config: Config;
  private readonly jobs = new Map<string, Runnable>();
  private readonly schedules = new Map<string, ReturnType<typeof schedule>>();
  private readonly running = new Map<string, Replication>();
  private readonly datasets = new Map<string, Map<string, DatasetStatus>>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly actor;

  constructor(private readonly options: RuntimeOptions) {
    this.config = options.config;
    this.index(options.config);
    const provided = daemonMachine.provide({
      actors: { job: this.providedJob() },
    });
    this.actor = createActor(provided, {
      input: { jobs: this.daemonJobs(), now: options.deps.now },
      ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
    });
  }

  private index(config: Config): void {
    this.jobs.clear();
    for (const job of config.jobs) if (isRunnable(job)) this.jobs.set(job.name, job);
  }

  private daemonJobs(): DaemonJob[] {
    return [...this.jobs.values()].map((j) => ({ name: j.name, kind: j.type }));
  }

  private job(name: string): Runnable {
    const job = this.jobs.get(name);
    if (job === undefined) throw new UnknownJobError(`no job named ${JSON.stringify(name)}`);
    return job;
  }

  /** Work of a job state: tracked so that stop() waits for it, its errors counted. */
  private track<T>(name: string, during: string, work: Promise<T>): Promise<T> {
    const tracked = work.catch((err: unknown) => {
      this.options.metrics?.error(name, during, classifyError(err));
      this.options.deps.logger.warn(
        { job: name, during, err: (err as Error)?.message ?? String(err) },
        'job step failed',
      );
      throw err;
    });
    const settled = tracked.then(
      () => {},
      () => {},
    );
    this.inflight.add(settled);
    void settled.finally(() => this.inflight.delete(settled));
    return tracked;
  }

  private providedJob() {
    const { deps, metrics } = this.options;
    return jobMachine.provide({
      actors: {
        snapshot: fromPromise(({ input, signal }) =>
          this.track(
            input.name,
            'snapshotting',
            (async () => {
              const job = this.job(input.name);
              if (job.type === 'pull') throw new Error(`job ${job.name} takes no snapshots`);
              const result = await takeSnapshots(job, deps, signal);
              metrics?.snapshotsTaken(input.name, result.datasets.length);
              return result;
            })(),
          ),
        ),
        replicate: fromPromise(({ input, signal }) =>
          this.track(input.name, 'replicating', this.replicate(input.name, signal)),
        ),
        prune: fromPromise(({ input, signal }) =>
          this.track(
            input.name,
            `pruning-${input.side}`,
            (async () => {
              const result = await pruneJob(this.job(input.name), input.side, deps, signal);
              metrics?.snapshotsPruned(input.name, input.side, result.destroyed);
              return summarize(result);
            })(),
          ),
        ),
      },
    });
  }

  private async replicate(name: string, signal: AbortSignal): Promise<Report> {
    const job = this.job(name);
    if (job.type === 'snap') throw new Error(`job ${name} does not replicate`);
    const pair = pairOf(job);
    const { deps, metrics } = this.options;
    const started = deps.now();
    try {
      const report = await replicateJob(job, deps, signal, (r) => {
        if (r === undefined) this.running.delete(name);
        else {
          this.running.set(name, r);
          this.options.onRun?.(r);
        }
      });
      const done = deps.now();
      metrics?.runDuration(name, (done.getTime() - started.getTime()) / 1000);
      for (const [path, { bytes, steps }] of transferred(report)) {
        const dataset = pair.datasetName(path);
        metrics?.replicated(name, dataset, bytes, steps, done);
        this.dataset(name, dataset).lastSuccess = done;
      }
      return report;
    } finally {
      if (!signal.aborted) await this.updateLag(job, signal);
    }
  }

  private dataset(job: string, dataset: string): DatasetStatus {
    let map = this.datasets.get(job);
    if (map === undefined) this.datasets.set(job, (map = new Map()));
    let status = map.get(dataset);
    if (status === undefined) {
      map.set(dataset, (status = { dataset, behindSince: null, lastSuccess: null }));
    }
    return status;
  }

  private async updateLag(job: PushJob | PullJob, signal: AbortSignal): Promise<void> {
    try {
      for (const [dataset, since] of await behindSince(job, this.options.deps, signal)) {
        this.dataset(job.name, dataset).behindSince = since ?? null;
        this.options.metrics?.behind(job.name, dataset, since);
      }
    } catch (err) {
      this.options.deps.logger.warn(
        { job: job.name, err: (err as Error).message },
        'cannot compute the replication lag',
      );
    }
  }

  /** Starts the daemon chart and the schedules. */
  start(): void {
    this.actor.start();
    this.arm();
  }

  private arm(): void {
    const { deps, timers } = this.options;
    for (const job of this.jobs.values()) {
      this.schedules.set(
        job.name,
        schedule(
          timers,
          deps.now,
          (now, first) =>
            nextTick(
              job.type === 'pull'
                ? { type: 'periodic', interval: job.interval, prefix: '', hooks: [] }
                : job.snapshotting,
              now,
              first,
            ),
          () => this.actor.send({ type: 'TICK', job: job.name }),
        ),
      );
    }
  }

  private disarm(): void {
    for (const s of this.schedules.values()) s.stop();
    this.schedules.clear();
  }

  /** Replaces the config (already validated): jobs that stay keep their state. */
  reload(config: Config): void {
    const before = new Set(this.jobs.keys());
    this.disarm();
    this.config = config;
    this.index(config);
    this.actor.send({ type: 'RELOAD', jobs: this.daemonJobs() });
    for (const name of before) {
      if (!this.jobs.has(name)) {
        this.datasets.delete(name);
        void this.options.metrics?.forget(name);
      }
    }
    this.arm();
  }

  /** The config in use. */
  currentConfig(): Config {
    return this.config;
  }

  wakeup(name: string): void {
    this.job(name);
    this.actor.send({ type: 'WAKEUP', job: name });
  }

  reset(name: string): void {
    this.job(name);
    this.actor.send({ type: 'RESET', job: name });
  }

  /** Each job's state (for the state metric). */
  states(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, { actor }] of Object.entries(this.actor.getSnapshot().context.jobs)) {
      out.set(name, String(actor.getSnapshot().value));
    }
    return out;
  }

  status(): DaemonStatus {
    const jobs: JobStatus[] = [];
    for (const [name, entry] of Object.entries(this.actor.getSnapshot().context.jobs)) {
      const actor = entry.actor as ActorRefFrom<typeof jobMachine>;
      const { context, value } = actor.getSnapshot();
      jobs.push({
        name,
        type: context.kind,
        state: value as JobState,
        lastError: context.lastError,
        cycles: context.cycles,
        nextTick: this.schedules.get(name)?.nextAt() ?? null,
        lastSnapshot: context.lastSnapshot as SnapshotResult | null,
        run: this.running.get(name)?.report() ?? (context.lastRun as Report | null),
        lastPrune: {
          sender: context.lastPruneSender as PruneSummary | null,
          receiver: context.lastPruneReceiver as PruneSummary | null,
        },
        datasets: [...(this.datasets.get(name)?.values() ?? [])],
      });
    }
    return { jobs };
  }

  /** Stops the schedules and every job (their work is aborted) and waits for it to end. */
  async stop(): Promise<void> {
    this.disarm();
    this.actor.send({ type: 'STOP' });
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    this.actor.stop();
  }
}
