/**
 * Runs one generated scenario against the driver: releases the world's pending calls in the
 * order the scenario picks, cancels where it says, and watches the report all along.
 *
 * No timers and no sleeps: between two releases the harness lets the event loop turn once
 * (every promise callback queued so far runs), which is all the driver needs to react. With
 * self-healing on (D13-D15) the driver sets timers (back-offs, stall watches): the test runs
 * on jest's fake timers, and moving time on to the next timer is one more thing a schedule
 * can pick, besides releasing a call.
 */
import { replicate, type DriverConfig, type Planner, type Report } from '../../src/index.js';
import { tickingClock } from '../helpers/driver.js';
import { isTerminalRun, progressProblems, reportProblems } from './report-checks.js';
import { callName, World, type CallRecord, type WorldSpec } from './world.js';

export interface Scenario {
  world: WorldSpec;
  concurrency: number;
  maxAttempts: number;
  /**
   * Which pending call to release next: `picks[i]` (modulo the number pending) for release i;
   * after the picks, a sequence drawn from `seed`, or always the oldest call when `seed` is 0.
   */
  schedule: { picks: number[]; seed: number };
  /** Cancel before release number `at`, or synchronously inside call number `at`. */
  cancel: { at: number; inside: boolean } | null;
  /** D13-D15 on (the harness then needs jest's fake timers); null: off, as by default. */
  healing: Healing | null;
}

export interface Healing {
  replanLimit: number;
  filesystemRetries: number;
  filesystemRetryBackoffMs: number;
  stepStallTimeoutMs?: number;
}

export interface Trace {
  scenario: Scenario;
  world: World;
  /** The report wait() resolved with, or the last one if it never resolved. */
  final: Report;
  /** wait() resolved. */
  ended: boolean;
  /** Cancelled while the run was still going, so it must end `cancelled`. */
  cancelledWhileRunning: boolean;
  /** The report of every observation failed these checks (D11). */
  reportProblems: string[];
  /** What the end of the run left behind (D10, D12). */
  endProblems: string[];
  observations: number;
}

/** Reconnect deadline: far beyond any run here, so it never fires; its timer must be cleared. */
const RECONNECT_MS = 3_600_000;
/**
 * Runs up to this many filesystems check the report at every observation; larger ones every
 * SAMPLE-th (a report costs O(filesystems + steps), and there are O(steps) observations), and
 * parse with ReportSchema every fifth of those.
 */
const FULL_CHECKS_UP_TO = 40;
const SAMPLE = 10;
const MAX_RELEASES = 20_000;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Turns of the event loop without a pending call before a run counts as stuck. */
const IDLE_TURNS = 1_000;

/** What runs the scenario: `replicate()`, or the differential suite's oracle. */
export type Replicate = (
  config: DriverConfig,
  planner: Planner,
  options: { signal: AbortSignal; now: () => Date },
) => { report(): Report; wait(): Promise<Report> };

export interface RunOptions {
  /** Default: the driver's `replicate()`. */
  replicate?: Replicate;
  /**
   * The differential suite's schedule: after every release the event loop turns until no new
   * call starts, and `picks` index the pending calls sorted by attempt, kind, filesystem and
   * step, not by when they started. Two implementations of the rules then see the same
   * choices, whatever order they start concurrent calls in.
   */
  canonical?: boolean;
}

export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<Trace> {
  const world = new World(scenario.world);
  const controller = new AbortController();
  const limits = { maxAttempts: scenario.maxAttempts, reconnectHardFailTimeoutMs: RECONNECT_MS };
  const canonical = options.canonical === true;
  const replication = (options.replicate ?? replicate)(
    {
      stepQueueConcurrency: scenario.concurrency,
      maxAttempts: scenario.maxAttempts,
      reconnectHardFailTimeoutMs: RECONNECT_MS,
      ...scenario.healing,
    },
    world,
    { signal: controller.signal, now: tickingClock().now },
  );

  const problems: string[] = [];
  const note = (where: string, found: string[]): void => {
    for (const p of found) if (problems.length < 20) problems.push(`${where}: ${p}`);
  };
  const every = scenario.world.filesystems.length <= FULL_CHECKS_UP_TO ? 1 : SAMPLE;
  let chances = 0;
  let observations = 0;
  let previous: Report | null = null;
  /** Checks the report now (or only every `every`-th time, for large runs). */
  const observe = (where: string): Report | null => {
    if (chances++ % every !== 0) return null;
    const report = replication.report();
    note(where, reportProblems(report, limits, every === 1 || observations % 5 === 0));
    if (previous !== null) note(where, progressProblems(previous, report));
    previous = report;
    observations++;
    return report;
  };

  let cancelledWhileRunning = false;
  const cancel = (): void => {
    if (controller.signal.aborted) return;
    cancelledWhileRunning = !isTerminalRun(replication.report().state);
    controller.abort(new Error('cancelled by the test'));
  };

  world.onCall = (call) => {
    const report = observe(`at the start of ${callName(call)}`);
    if (report !== null)
      note(`at the start of ${callName(call)}`, runningCallProblems(report, call));
    if (scenario.cancel?.inside && scenario.cancel.at === call.id) {
      cancel();
      observe(`after cancelling inside ${callName(call)}`);
    }
  };

  const timers = (): number => (scenario.healing === null ? 0 : jest.getTimerCount());
  const ended: { report?: Report } = {};
  void replication.wait().then((report) => (ended.report = report));
  let releases = 0;
  const tail = picker(scenario.schedule.seed);
  for (;;) {
    await turn();
    if (canonical) await quiet(world);
    observe(`after ${releases} releases`);
    if (ended.report !== undefined) break;
    if (
      scenario.cancel !== null &&
      !scenario.cancel.inside &&
      scenario.cancel.at === releases &&
      !controller.signal.aborted
    ) {
      cancel();
      observe(`after cancelling at release ${releases}`);
      continue; // let the cancellation take effect before anything else is released
    }
    // The driver yields to the event loop between slices of work (src/driver/scheduler.ts):
    // with nothing pending, give it turns until it calls the planner again or ends.
    // With healing, a filesystem may wait for its back-off: then time moves on.
    for (
      let idle = 0;
      idle < IDLE_TURNS && world.pending.length === 0 && ended.report === undefined;
      idle++
    ) {
      if (timers() > 0) jest.advanceTimersToNextTimer();
      await turn();
      if (canonical) await quiet(world);
    }
    if (ended.report !== undefined) continue;
    const pick = scenario.schedule.picks[releases] ?? tail();
    if (timers() > 0 && pick % (world.pending.length + 1) === world.pending.length) {
      jest.advanceTimersToNextTimer(); // a back-off ends, or a stall watch looks at its step
      if (++releases > MAX_RELEASES) break;
      continue;
    }
    const pending = canonical ? [...world.pending].sort(byLabel) : world.pending;
    const call = pending[pick % Math.max(1, pending.length)];
    if (call === undefined) {
      problems.push(
        `stuck: run ${replication.report().state}, nothing pending, wait() not resolved`,
      );
      break;
    }
    world.release(call);
    if (++releases > MAX_RELEASES) {
      problems.push(`no end after ${MAX_RELEASES} releases`);
      break;
    }
  }

  const endProblems: string[] = [];
  if (ended.report !== undefined) {
    const left = world.pending.filter((c) => !c.signal.aborted);
    for (const c of left)
      endProblems.push(`${callName(c)} still pending after wait(), signal not aborted`);
    for (const c of world.pending) {
      if (c.kind === 'planFS' || c.kind === 'step')
        endProblems.push(`${callName(c)} still running after wait()`);
    }
    if (world.running !== 0)
      endProblems.push(`${world.running} plannings or steps running after wait()`);
  }
  world.abandon();
  await turn();
  return {
    scenario,
    world,
    final: ended.report ?? replication.report(),
    ended: ended.report !== undefined,
    cancelledWhileRunning,
    reportProblems: problems,
    endProblems,
    observations,
  };
}

/** At the start of a planning or step, the report shows exactly that call as running. */
function runningCallProblems(report: Report, call: CallRecord): string[] {
  if (call.kind !== 'planFS' && call.kind !== 'step') return [];
  const attempt = report.attempts[call.attempt];
  const fs = attempt?.filesystems.find((f) => f.info.name === call.fs);
  if (fs === undefined) return [`${callName(call)} runs but the report has no such filesystem`];
  const shown = `${fs.state}/${fs.blockedOn} at step ${fs.currentStep}`;
  if (call.kind === 'planFS' && !(fs.state === 'planning' && fs.blockedOn === 'nothing')) {
    return [`${callName(call)} runs but the report shows ${shown}`];
  }
  if (
    call.kind === 'step' &&
    !(
      fs.state === 'stepping' &&
      fs.blockedOn === 'nothing' &&
      fs.steps[fs.currentStep]?.info.to === call.step?.to
    )
  ) {
    return [`${callName(call)} runs but the report shows ${shown}`];
  }
  return [];
}

/** Turns the event loop until no new call starts (the driver yields now and then: scheduler.ts). */
async function quiet(world: World): Promise<void> {
  for (let calls = -1; calls !== world.log.length;) {
    calls = world.log.length;
    await turn();
    await turn();
  }
}

const labelOf = (c: CallRecord): string =>
  `${c.attempt}:${c.kind}:${c.fs ?? ''}:${c.step?.to ?? ''}`;
const byLabel = (a: CallRecord, b: CallRecord): number =>
  labelOf(a) < labelOf(b) ? -1 : labelOf(a) > labelOf(b) ? 1 : 0;

/** Picks after the scenario's own: 0 (the oldest call) for seed 0, else xorshift32 of the seed. */
function picker(seed: number): () => number {
  let x = seed | 0;
  return () => {
    if (x === 0) return 0;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}
