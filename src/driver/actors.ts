/**
 * The actors the statecharts invoke or spawn, bound to one Planner: they call the planner and
 * the steps, and nothing else (the run's waitForConnectivity, the attempt's plan, the
 * attempt's calls actor for every planFS and step). The machines get them through `.provide()`.
 */
import { fromPromise, type AnyActorRef } from 'xstate';
import { attemptMachine } from '../../machines/attempt.machine.js';
import { callsLogic, type PlanFSInput, type RunStepInput } from '../../machines/calls.logic.js';
import {
  runMachine,
  type AttemptActor,
  type WaitForConnectivityInput,
} from '../../machines/run.machine.js';
import type { PlanInput } from '../../machines/attempt.machine.js';
import { filesystemProgress } from '../../machines/filesystem.machine.js';
import type { PreparedPlan } from '../../machines/types.js';
import type { Planner, Step } from './types.js';
import { correlate, preparePlan, type PreviousFilesystem } from './prepare.js';
import { runWatched } from './stall.js';

/** How the driver runs the calls (D15). */
export interface CallOptions {
  /** Abort a step whose bytes have not grown for this long (D15); default: never. */
  stepStallTimeoutMs?: number | undefined;
}

/** What the previous attempt's filesystems left, read from their final snapshots. */
function previousFilesystems(previous: AnyActorRef | null): PreviousFilesystem[] {
  if (previous === null) return [];
  const attempt = (previous as AttemptActor).getSnapshot();
  return attempt.context.filesystems.map((ref) => filesystemProgress(ref.getSnapshot()));
}

function validSteps(steps: unknown, name: string): Step[] {
  if (!Array.isArray(steps)) {
    const what = steps === null ? 'null' : typeof steps;
    throw new Error(`planFS of ${JSON.stringify(name)} resolved to ${what}, not an array of steps`);
  }
  steps.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || typeof (s as Step).step !== 'function') {
      throw new Error(`planFS of ${JSON.stringify(name)} returned an invalid step at index ${i}`);
    }
  });
  return steps as Step[];
}

/** The attempt's calls (planFS with D5 correlation, step; D15's stall watch if asked for). */
export function createDriverCalls(options: CallOptions = {}) {
  const stallMs = options.stepStallTimeoutMs;
  return callsLogic({
    // A slot can be granted in the same burst of events in which the run was cancelled
    // (a call aborted the signal synchronously): no call starts after that (D10).
    planFS: (input: PlanFSInput) =>
      input.signal.aborted
        ? Promise.reject(input.signal.reason)
        : Promise.resolve(input.fs.planFS(input.signal)).then((steps) =>
            correlate(validSteps(steps, input.name), input.previous),
          ),
    runStep: (input: RunStepInput) =>
      input.signal.aborted
        ? Promise.reject(input.signal.reason)
        : stallMs === undefined
          ? input.step.step(input.signal)
          : runWatched(input.step, input.signal, stallMs),
  });
}

/** The attempt's calls without a stall watch. */
export const driverCalls = createDriverCalls();

/** The attempt machine with its plan and calls actors bound to `planner`. */
export function provideAttemptMachine(planner: Planner, options: CallOptions = {}) {
  return attemptMachine.provide({
    actors: {
      calls: options.stepStallTimeoutMs === undefined ? driverCalls : createDriverCalls(options),
      plan: fromPromise<PreparedPlan, PlanInput>(async ({ input }) => {
        const planned = await planner.plan(input.signal);
        return preparePlan(planned, previousFilesystems(input.previous), input.signal);
      }),
    },
  });
}

/** The run machine with every actor that calls the planner bound to `planner`. */
export function provideRunMachine(planner: Planner, options: CallOptions = {}) {
  return runMachine.provide({
    actors: {
      attempt: provideAttemptMachine(planner, options),
      // The actor's own signal aborts at the reconnect deadline and on cancel (state exit).
      waitForConnectivity: fromPromise<void, WaitForConnectivityInput>(async ({ signal }) => {
        await planner.waitForConnectivity(signal);
      }),
    },
  });
}
