/**
 * One benchmark run in a fresh process (forked by bench/run.ts, so peak RSS is per run):
 *
 *   node --expose-gc dist/bench/one.js --impl xrepl|baseline --n 100000 [--retry]
 *        [--exit-when-steps-done]
 *
 * Measures wall time, peak RSS (10 ms samples and the kernel's maxRSS), one report() call
 * when half of the steps are done and one at the end, the event loop's max delay during the
 * run, the time from the last attempt's finishAt to wait() resolving ("teardown"), and with
 * --retry the durations of attempt 1 (fails with ETIMEDOUT on the last step of one
 * filesystem) and attempt 2. Checks the outcome before it reports anything.
 *
 * Forked: sends `progress` messages as the run goes (they arrive even when the event loop is
 * blocked afterwards, so a run killed at its time limit still reports what it reached) and a
 * final `result`. Standalone: prints the result as JSON. `--exit-when-steps-done` exits as
 * soon as the last step has run, before the driver's teardown (for profiling the step phase).
 */
import { writeSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Report } from '../src/report/schema.js';
import type { Planner } from '../src/driver/types.js';
import { STEPS_PER_FS, Workload } from './workload.js';
import { argValue } from './args.js';

export type Impl = 'xrepl' | 'baseline';

/** What a run reached so far; every field is known once its moment has passed. */
export interface Progress {
  /** ms from replicate() to the failing step of attempt 1 (retry runs). */
  failAtMs?: number;
  /** ms from replicate() to the end of attempt 1's last step, failed or not (retry runs). */
  attempt1WorkDoneAtMs?: number;
  /** ms from replicate() to the last successful step. */
  stepsDoneAtMs?: number;
  rssAtStepsDoneBytes?: number;
  reportMidMs?: number;
  /** Steps the mid-run report shows as done (sanity: about half). */
  reportMidStepsDone?: number;
}

export interface OneResult extends Progress {
  impl: Impl;
  n: number;
  retry: boolean;
  wallMs: number;
  /** max(10 ms samples of rss, resourceUsage().maxRSS), bytes. */
  peakRssBytes: number;
  sampledPeakRssBytes: number;
  maxRssBytes: number;
  /** RSS after the workload was built and a GC, before the run started. */
  rssBeforeBytes: number;
  reportEndMs: number;
  /** monitorEventLoopDelay({ resolution: 10 }).max, ms. */
  eventLoopMaxDelayMs: number;
  /**
   * Longest gap between two ticks of the 10 ms sampler, minus 10 ms, counting the run's start
   * and end as ticks: catches a loop blocked for the whole run, which the histogram cannot see
   * (it records nothing until its timer fires once).
   */
  eventLoopMaxGapMs: number;
  /**
   * The same longest gap, with the time spent inside this benchmark's own mid-run report()
   * call taken out: how long the driver alone held the loop. (Absent in older results.)
   */
  eventLoopMaxGapDriverMs?: number;
  /** attempt finishAt - startAt, ms (report, real clock). */
  attemptMs: number[];
  /** attempt[i + 1].startAt - attempt[i].finishAt, ms: the previous attempt's teardown. */
  betweenAttemptsMs: number[];
  /** wait() resolved - last attempt's finishAt, ms. */
  teardownMs: number;
  orderHash: number;
  stepCalls: number;
}

export type WorkerMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'heartbeat'; maxGapMs: number }
  | { type: 'result'; result: OneResult };

interface Replication {
  report(): Report;
  wait(): Promise<Report>;
}

const CONFIG = { stepQueueConcurrency: 8, maxAttempts: 2, reconnectHardFailTimeoutMs: 60_000 };
const SAMPLE_MS = 10;
export const HEARTBEAT_MS = 500;

async function starter(impl: Impl): Promise<(planner: Planner) => Replication> {
  if (impl === 'xrepl') {
    const { replicate } = await import('../src/index.js');
    return (planner) => replicate(CONFIG, planner);
  }
  const { replicateBaseline } = await import('./baseline.js');
  return (planner) => replicateBaseline(CONFIG, planner);
}

function stepsDone(report: Report): number {
  let done = 0;
  for (const a of report.attempts) for (const f of a.filesystems) done += f.currentStep;
  return done;
}

function check(ok: boolean, what: string, report: Report): void {
  if (!ok) {
    const summary = {
      state: report.state,
      attempts: report.attempts.map((a) => ({
        state: a.state,
        planError: a.planError,
        errors: a.filesystems.filter((f) => f.planError ?? f.stepError).slice(0, 3),
      })),
    };
    throw new Error(`benchmark run is invalid: ${what}\n${JSON.stringify(summary, null, 2)}`);
  }
}

export interface RunOptions {
  onProgress?: (progress: Progress) => void;
  /** Every HEARTBEAT_MS while the event loop turns, with the longest gap so far (ms). */
  onHeartbeat?: (maxGapMs: number) => void;
  exitWhenStepsDone?: boolean;
}

export async function runOne(
  impl: Impl,
  n: number,
  retry: boolean,
  options: RunOptions = {},
): Promise<OneResult> {
  const start = await starter(impl);
  // The last filesystem is a leaf dataset; its last step fails once in the retry run.
  const workload = new Workload(
    n,
    retry ? { fail: { fs: n - 1, step: STEPS_PER_FS - 1, times: 1 } } : {},
  );
  globalThis.gc?.();
  const rssBeforeBytes = process.memoryUsage().rss;
  const progress: Progress = {};
  const tell = (p: Progress): void => {
    Object.assign(progress, p);
    options.onProgress?.(p);
  };

  let sampledPeak = rssBeforeBytes;
  let lastTick = performance.now();
  let maxGap = 0;
  // The same, with the benchmark's own report() call taken out (see OneResult).
  let lastTickDriver = lastTick;
  let maxGapDriver = 0;
  let lastHeartbeat = performance.now();
  const sampler = setInterval(() => {
    const t = performance.now();
    maxGap = Math.max(maxGap, t - lastTick);
    lastTick = t;
    maxGapDriver = Math.max(maxGapDriver, t - lastTickDriver);
    lastTickDriver = t;
    sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
    if (t - lastHeartbeat >= HEARTBEAT_MS) {
      lastHeartbeat = t;
      options.onHeartbeat?.(Math.max(0, maxGap - SAMPLE_MS));
    }
  }, SAMPLE_MS);
  const delay = monitorEventLoopDelay({ resolution: SAMPLE_MS });

  const half = Math.floor(workload.totalSteps / 2);
  // In a retry run attempt 1 runs every step but the failing one.
  let failed = false;
  const attempt1Done = (done: number): void => {
    if (retry && failed && done === workload.totalSteps - 1)
      tell({ attempt1WorkDoneAtMs: performance.now() - t0 });
  };
  workload.stats.onFail = () => {
    failed = true;
    tell({ failAtMs: performance.now() - t0 });
    attempt1Done(workload.stats.stepCalls);
  };
  workload.stats.onStepDone = (done) => {
    attempt1Done(done);
    if (done === half) {
      // Right after the current step settles, outside the driver's own call stack.
      queueMicrotask(() => {
        const t = performance.now();
        const r = replication.report();
        const ms = performance.now() - t;
        lastTickDriver += ms;
        tell({ reportMidMs: ms, reportMidStepsDone: stepsDone(r) });
      });
    }
    if (done === workload.totalSteps) {
      tell({
        stepsDoneAtMs: performance.now() - t0,
        rssAtStepsDoneBytes: process.memoryUsage().rss,
      });
      if (options.exitWhenStepsDone === true) {
        writeSync(1, `${JSON.stringify({ impl, n, retry, ...progress }, null, 2)}\n`);
        process.exit(0);
      }
    }
  };

  delay.enable();
  lastTick = performance.now();
  lastTickDriver = lastTick;
  const t0 = performance.now();
  const replication = start(workload);
  const final = await replication.wait();
  const endMs = Date.now();
  const wallMs = performance.now() - t0;
  delay.disable();
  clearInterval(sampler);
  maxGap = Math.max(maxGap, performance.now() - lastTick);
  maxGapDriver = Math.max(maxGapDriver, performance.now() - lastTickDriver);
  sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);

  const t1 = performance.now();
  const end = replication.report();
  const reportEndMs = performance.now() - t1;

  check(final.state === 'done', `run state ${final.state}, expected done`, final);
  check(end.state === 'done', 'report() after the end disagrees with wait()', end);
  check(
    workload.stats.stepCalls === workload.totalSteps,
    `${workload.stats.stepCalls} steps ran`,
    final,
  );
  check(final.attempts.length === (retry ? 2 : 1), `${final.attempts.length} attempts`, final);
  if (retry)
    check(final.attempts[0]?.state === 'filesystem-error', 'attempt 1 did not fail', final);
  const last = final.attempts[final.attempts.length - 1] as Report['attempts'][number];
  check(
    last.filesystems.length === n && last.filesystems.every((f) => f.state === 'done'),
    'fs not done',
    final,
  );

  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  return {
    impl,
    n,
    retry,
    ...progress,
    wallMs,
    peakRssBytes: Math.max(sampledPeak, maxRssBytes),
    sampledPeakRssBytes: sampledPeak,
    maxRssBytes,
    rssBeforeBytes,
    reportEndMs,
    eventLoopMaxDelayMs: delay.max / 1e6,
    eventLoopMaxGapMs: Math.max(0, maxGap - SAMPLE_MS),
    eventLoopMaxGapDriverMs: Math.max(0, maxGapDriver - SAMPLE_MS),
    attemptMs: final.attempts.map((a) => (a.finishAt as Date).getTime() - a.startAt.getTime()),
    betweenAttemptsMs: final.attempts
      .slice(1)
      .map(
        (a, i) =>
          a.startAt.getTime() -
          ((final.attempts[i] as Report['attempts'][number]).finishAt as Date).getTime(),
      ),
    teardownMs: endMs - (last.finishAt as Date).getTime(),
    orderHash: workload.stats.orderHash,
    stepCalls: workload.stats.stepCalls,
  };
}

const isMain = process.argv[1]?.endsWith('one.js') ?? false;
if (isMain) {
  const impl = (argValue('--impl') ?? 'xrepl') as Impl;
  const n = Number(argValue('--n') ?? '1000');
  if (impl !== 'xrepl' && impl !== 'baseline')
    throw new Error(`--impl must be xrepl or baseline, not ${impl}`);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--n must be a positive integer, not ${argValue('--n')}`);
  const send = process.send?.bind(process);
  const result = await runOne(impl, n, process.argv.includes('--retry'), {
    onProgress:
      send && ((progress) => send({ type: 'progress', progress } satisfies WorkerMessage)),
    onHeartbeat:
      send && ((maxGapMs) => send({ type: 'heartbeat', maxGapMs } satisfies WorkerMessage)),
    exitWhenStepsDone: process.argv.includes('--exit-when-steps-done'),
  });
  if (send) send({ type: 'result', result } satisfies WorkerMessage);
  else console.log(JSON.stringify(result, null, 2));
}
