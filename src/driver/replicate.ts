/**
 * `replicate()`: creates the run actor, provides the planner's implementations, links
 * cancellation, and derives the report from snapshots (DRIVER.md "Public API").
 */
import { setMaxListeners } from 'node:events';
import { createActor, type ActorRefFrom, type InspectionEvent, type Observer } from 'xstate';
import type { runMachine, LogParams } from '../../machines/run.machine.js';
import { parseDriverConfig, type DriverConfig } from '../config/driver-config.js';
import { classifyError } from '../errors/classify.js';
import { runReport, runReportInSlices } from './report.js';
import type { Report } from '../report/schema.js';
import { provideRunMachine } from './actors.js';
import { eventLoopScheduler } from './scheduler.js';
import type { ErrorClass, Logger, Planner } from './types.js';

export type { DriverConfig } from '../config/driver-config.js';

export interface ReplicateOptions {
  /** Cancels the whole run (D10). */
  signal?: AbortSignal;
  /** Clock for every time in the report (default: real time). */
  now?: () => Date;
  /**
   * XState inspection observer, passed to createActor: a function or an observer object
   * (`{ next(event) {...} }`), e.g. xrepl's visualizer or `@statelyai/inspect`'s inspectors.
   */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Overrides the built-in D9 rules for errors it recognises (returns undefined otherwise). */
  classifyError?: (err: unknown) => ErrorClass | undefined;
  /** pino-compatible; default silent. */
  logger?: Logger;
}

export type RunActor = ActorRefFrom<typeof runMachine>;

export interface Replication {
  /** Cheap, pure, callable any time, also after the end. */
  report(): Report;
  /** Resolves (never rejects) with the final report. */
  wait(): Promise<Report>;
  /** The root XState actor. */
  readonly actor: RunActor;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Runs a replication: attempts until done, a permanent error, or cancellation.
 *
 * @example
 * const replication = replicate(
 *   { stepQueueConcurrency: 4, maxAttempts: 3, reconnectHardFailTimeoutMs: 60_000 },
 *   planner,
 * );
 * setInterval(() => console.log(replication.report().state), 1000).unref();
 * const report = await replication.wait();
 */
export function replicate(
  config: DriverConfig,
  planner: Planner,
  options: ReplicateOptions = {},
): Replication {
  const cfg = parseDriverConfig(config);
  if (
    typeof planner !== 'object' ||
    planner === null ||
    typeof planner.plan !== 'function' ||
    typeof planner.waitForConnectivity !== 'function'
  ) {
    throw new TypeError('replicate: planner must have plan() and waitForConnectivity() methods');
  }
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? silent;
  const userClassify = options.classifyError;
  const classify = (err: unknown): ErrorClass => {
    if (userClassify !== undefined) {
      try {
        const cls = userClassify(err);
        if (cls !== undefined) return cls;
      } catch (e) {
        logger.warn({ err: e }, 'classifyError option threw; using the built-in rules');
      }
    }
    return classifyError(err);
  };

  const controller = new AbortController();
  // Every running call of the run listens to this one signal: as many listeners as calls run
  // at once (stepQueueConcurrency), which is by design, not a leak to warn about.
  setMaxListeners(0, controller.signal);
  const external = options.signal;
  const machine = provideRunMachine(planner, {
    stepStallTimeoutMs: cfg.stepStallTimeoutMs,
  }).provide({
    actions: {
      log: (_, params: LogParams) => logger[params.level](params.data ?? {}, params.msg),
    },
  });
  const actor = createActor(machine, {
    input: {
      config: cfg,
      signal: controller.signal,
      now,
      classify,
      scheduler: eventLoopScheduler(),
      cancelledAtStart: external?.aborted ? { reason: external.reason } : undefined,
    },
    inspect: options.inspect,
  });
  if (external?.aborted) controller.abort(external.reason);

  const onAbort = (): void => {
    controller.abort(external?.reason);
    actor.send({ type: 'CANCEL', reason: external?.reason });
  };
  const report = (): Report => runReport(actor.getSnapshot());

  let settle!: () => void;
  const ended = new Promise<void>((resolve) => (settle = resolve));
  const finish = (): void => {
    external?.removeEventListener('abort', onAbort);
    settle();
  };
  actor.subscribe({
    complete: finish,
    error: (err) => {
      logger.error({ err }, 'replication driver failed unexpectedly');
      finish();
    },
  });
  // The run has ended: its final report is built in slices, so even 100,000 filesystems do
  // not hold the event loop while wait() resolves.
  const done = ended.then(() =>
    runReportInSlices(
      actor.getSnapshot(),
      () => new Promise<void>((resolve) => setImmediate(resolve)),
    ),
  );
  if (!external?.aborted) external?.addEventListener('abort', onAbort, { once: true });
  logger.debug({ config: cfg }, 'begin run');
  actor.start();
  return { report, wait: () => done, actor };
}
