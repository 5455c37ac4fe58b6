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
import type { Config, JobConfig, PullJob, PushJob, SinkJob, SourceJob } from './config.js';
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
import type { ServedJob } from './serving.js';
import { pairOf, prunes } from './sides.js';

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

/** A sink's or source's server: where it listens, or why it does not. */
export interface ServingStatus {
  url: string | null;
  error: string | null;
}

/** What `xrepl status` shows of one job (JSON-able). */
export interface JobStatus {
  name: string;
  type: JobConfig['type'];
  state: JobState;
  lastError: JobError | null;
  cycles: number;
  nextTick: Date | null;
  lastSnapshot: SnapshotResult | null;
  /** The run in progress, else the last run's report. */
  run: Report | null;
  lastPrune: { sender: PruneSummary | null; receiver: PruneSummary | null };
  datasets: DatasetStatus[];
  /** Sink and source jobs: their server. */
  serving: ServingStatus | null;
}

export interface DaemonStatus {
  jobs: JobStatus[];
}

export interface RuntimeOptions {
  config: Config;
  deps: JobDeps;
  timers: Timers;
  metrics?: JobMetrics;
  /** Inspection observer for the daemon and its jobs (the visualizer). */
  inspect?: JobDeps['inspect'];
  /**
   * Inspection observer for a job's run, given the job actor's session id: a run is an actor
   * system of its own, which the visualizer shows under its job. Default: `deps.inspect`.
   */
  inspectRun?: (jobSessionId: string) => NonNullable<JobDeps['inspect']>;
  /** Called with each replication as it starts, and its job (the visualizer's live report). */
  onRun?: (replication: Replication, job: string) => void;
}

type Served = SinkJob | SourceJob;

const isServed = (job: JobConfig): job is Served => job.type === 'sink' || job.type === 'source';

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

/** Thrown for `wakeup` of a job without a cycle (a sink, a source without snapshotting). */
export class NoCycleError extends Error {
  override readonly name = 'NoCycleError';
}

/** A sink's or source's server as the runtime keeps it. */
interface Server {
  /** The job's config as JSON: a reload that changes it restarts the server. */
  key: string;
  served: ServedJob | undefined;
  error: string | undefined;
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
  private readonly jobs = new Map<string, JobConfig>();
  private readonly servers = new Map<string, Server>();
  /** Server starts and stops, one after the other. */
  private serverWork: Promise<void> = Promise.resolve();
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
    for (const job of config.jobs) this.jobs.set(job.name, job);
  }

  private daemonJobs(): DaemonJob[] {
    return [...this.jobs.values()].map((j) => ({ name: j.name, kind: j.type }));
  }

  private job(name: string): JobConfig {
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
              if (job.type === 'pull' || job.type === 'sink' || job.snapshotting === undefined) {
                throw new Error(`job ${job.name} takes no snapshots`);
              }
              const result = await takeSnapshots(
                { name: job.name, filesystems: job.filesystems, snapshotting: job.snapshotting },
                deps,
                signal,
              );
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
              const job = this.job(input.name);
              // A source has no keep rules: its cycle prunes nothing.
              if (!prunes(job)) return summarize({ side: input.side, datasets: [], destroyed: 0 });
              const result = await pruneJob(job, input.side, deps, signal);
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
    if (job.type !== 'push' && job.type !== 'pull') {
      throw new Error(`job ${name} does not replicate`);
    }
    const pair = pairOf(job);
    const { deps, metrics, inspectRun } = this.options;
    const jobActor = this.actor.getSnapshot().context.jobs[name]?.actor;
    const runDeps =
      inspectRun === undefined || jobActor === undefined
        ? deps
        : { ...deps, inspect: inspectRun(jobActor.sessionId) };
    const started = deps.now();
    try {
      const report = await replicateJob(job, runDeps, signal, (r) => {
        if (r === undefined) this.running.delete(name);
        else {
          this.running.set(name, r);
          this.options.onRun?.(r, name);
        }
      });
      const done = deps.now();
      metrics?.runDuration(name, (done.getTime() - started.getTime()) / 1000);
      for (const [fsName, { bytes, steps }] of transferred(report)) {
        const dataset = pair.datasetOfName(fsName);
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
    this.syncServers();
  }

  /** Starts the servers of new or changed sink and source jobs, stops those of the others. */
  private syncServers(): void {
    const work = async (): Promise<void> => {
      for (const [name, server] of this.servers) {
        const job = this.jobs.get(name);
        if (job !== undefined && isServed(job) && JSON.stringify(job) === server.key) continue;
        this.servers.delete(name);
        await server.served?.close();
      }
      for (const job of this.jobs.values()) {
        if (!isServed(job) || this.servers.has(job.name)) continue;
        const server: Server = { key: JSON.stringify(job), served: undefined, error: undefined };
        this.servers.set(job.name, server);
        await this.startServer(job, server);
      }
    };
    this.serverWork = this.serverWork.then(work, work);
  }

  private async startServer(job: Served, server: Server): Promise<void> {
    const { deps } = this.options;
    try {
      if (deps.serveJob === undefined) throw new Error('this daemon cannot serve jobs');
      server.served = await deps.serveJob(job);
      deps.logger.info({ job: job.name, url: server.served.url }, `serving the ${job.type}`);
    } catch (err) {
      server.error = (err as Error)?.message ?? String(err);
      this.options.metrics?.error(job.name, 'serving', classifyError(err));
      deps.logger.error({ job: job.name, err: server.error }, `cannot serve the ${job.type}`);
    }
  }

  private arm(): void {
    const { deps, timers } = this.options;
    for (const job of this.jobs.values()) {
      const snapshotting =
        job.type === 'pull'
          ? { type: 'periodic' as const, interval: job.interval, prefix: '', hooks: [] }
          : job.type === 'sink'
            ? undefined
            : job.snapshotting;
      if (snapshotting === undefined) continue; // a sink, a source that takes no snapshots
      this.schedules.set(
        job.name,
        schedule(
          timers,
          deps.now,
          (now, first) => nextTick(snapshotting, now, first),
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
    this.syncServers();
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
    const job = this.job(name);
    if (job.type === 'sink' || (job.type === 'source' && job.snapshotting === undefined)) {
      throw new NoCycleError(
        `job ${name} is a ${job.type} that takes no snapshots: nothing to run`,
      );
    }
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
        serving: this.servingStatus(name),
      });
    }
    return { jobs };
  }

  private servingStatus(name: string): ServingStatus | null {
    const server = this.servers.get(name);
    if (server === undefined) return null;
    return { url: server.served?.url ?? null, error: server.error ?? null };
  }

  /** Resolves once the servers of the jobs of the current config have started (or failed). */
  async serving(): Promise<void> {
    for (let seen; seen !== this.serverWork;) await (seen = this.serverWork);
  }

  /**
   * Stops the schedules, every job (their work is aborted) and every server (calls in progress
   * get their grace period), and waits for all of it to end.
   */
  async stop(): Promise<void> {
    this.disarm();
    this.actor.send({ type: 'STOP' });
    const closing = async (): Promise<void> => {
      const servers = [...this.servers.values()];
      this.servers.clear();
      await Promise.all(servers.map((s) => s.served?.close()));
    };
    this.serverWork = this.serverWork.then(closing, closing);
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    await this.serving();
    this.actor.stop();
  }
}
