/**
 * Running a replication from the command line: the driver, the progress display fed from
 * `report()` on a timer, Ctrl-C as the driver's AbortSignal, the visualizer when asked for,
 * and the exit code of the outcome.
 */
import { replicate, type DriverConfig, type Replication } from '../driver/replicate.js';
import type { Logger, Planner } from '../driver/types.js';
import type { Report } from '../report/schema.js';
import {
  startVisualizer,
  type Visualizer,
  type VisualizerOptions,
} from '../../visualizer/server/server.js';
import { clockOf, EXIT, type CliIO, type TextSink } from './io.js';
import { createDisplay, type ProgressDisplay } from './progress/display.js';
import { progressPacer } from '../report/pacer.js';
import { summarize, summaryLine } from './summary.js';

export interface RunOptions {
  io: CliIO;
  config: DriverConfig;
  planner: Planner;
  logger: Logger;
  display: ProgressDisplay;
  /** Cancels the run (Ctrl-C). */
  signal: AbortSignal;
  /** Time between two progress updates, ms. */
  intervalMs?: number;
  visualizer?: Visualizer | null;
  /** Called once the run has started (e.g. to inject faults into a demo). */
  onStart?: (replication: Replication) => void;
}

/** The exit code of a run that ended in `state`. */
export function exitCodeOf(report: Report): number {
  if (report.state === 'done') return EXIT.done;
  if (report.state === 'cancelled') return EXIT.interrupted;
  return EXIT.failed;
}

/** Runs the replication to its end, showing progress; resolves with the final report. */
export async function runReplication(options: RunOptions): Promise<Report> {
  const { io, display, visualizer } = options;
  const clock = clockOf(io);
  const replication = replicate(options.config, options.planner, {
    signal: options.signal,
    logger: options.logger,
    now: () => new Date(clock.now()),
    ...(visualizer && { inspect: visualizer.inspect }),
  });
  visualizer?.attachReplication(replication);
  // At most a tenth of the time goes to progress reports, however many filesystems there are.
  const pacer = progressPacer();
  const stop = clock.every(options.intervalMs ?? 200, () => {
    const start = clock.now();
    if (!pacer.due(start)) return;
    display.update(replication.report(), start);
    pacer.spent(start, clock.now());
  });
  try {
    display.update(replication.report(), clock.now());
    options.onStart?.(replication);
    const report = await replication.wait();
    display.finish(report, clock.now());
    return report;
  } finally {
    stop();
  }
}

/**
 * Ctrl-C (and SIGTERM) handling for one command: the first aborts `signal` (the run stops
 * cleanly, endpoints are closed and a memory receiver's fixture saved, exit 130), the second
 * leaves at once.
 */
export function interruptible(io: CliIO): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const dispose = io.onInterrupt((signal = 'SIGINT') => {
    if (controller.signal.aborted) {
      io.stderr.write('interrupted again: exiting now\n');
      io.exit(EXIT.interrupted);
      return;
    }
    io.stderr.write('interrupted: stopping cleanly (press Ctrl-C again to exit at once)\n');
    controller.abort(new Error(`interrupted by the user (${signal})`));
  });
  return { signal: controller.signal, dispose };
}

/** Resolves on Ctrl-C (a visualizer stays up until then). */
export function untilInterrupted(io: CliIO): Promise<void> {
  return new Promise((resolve) => {
    const dispose = io.onInterrupt(() => {
      dispose();
      resolve();
    });
  });
}

/** Who may reach a visualizer beyond loopback (`xrepl visualize --host/--allow-host`). */
export type VisualizerAccess = Pick<VisualizerOptions, 'host' | 'allowedHosts'>;

/** Starts the visualizer on `port` (if given), recording to `record` (if given); prints its URL. */
export async function openVisualizer(
  port: number | undefined,
  record: string | undefined,
  notes: TextSink,
  access: VisualizerAccess = {},
): Promise<Visualizer | null> {
  if (port === undefined && record === undefined) return null;
  const visualizer = await startVisualizer({ port: port ?? 0, ...access });
  if (record !== undefined) {
    visualizer.record(record);
    notes.write(`recording the run to ${record} (replay: xrepl visualize --replay ${record})\n`);
  }
  if (port !== undefined) notes.write(`visualizer: ${visualizer.url}\n`);
  return visualizer;
}

/** The progress mode for `io`: none with `--json` (stdout is for the report). */
export function displayFor(io: CliIO, json: boolean): ProgressDisplay {
  return createDisplay({
    mode: json ? 'none' : io.isTTY ? 'tty' : 'plain',
    out: io.stdout,
    columns: io.columns,
    rows: io.rows,
  });
}

/** Prints the summary line, and each error on stderr. */
export function printOutcome(io: CliIO, report: Report, json: boolean): void {
  const summary = summarize(report);
  (json ? io.stderr : io.stdout).write(`${summaryLine(summary)}\n`);
  for (const error of summary.errors) io.stderr.write(`error: ${error}\n`);
}
