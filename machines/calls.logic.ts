/**
 * The attempt's calls: one actor per attempt that runs the planner's per-filesystem calls
 * (planFS, step) for every filesystem, and answers each with an event (D4, D10).
 *
 * A filesystem in `planning.running` sends PLAN_FS and waits for PLANNED / PLAN_FAILED; one
 * in `stepping.running` sends RUN_STEP and waits for STEP_DONE / STEP_FAILED. One long-lived
 * actor instead of an invoked actor per call: at 100,000 filesystems that is 400,000 actors
 * fewer to create, start and stop (each costs about as much as three events).
 *
 * The logic here is the protocol only; what a call does arrives as `implementations` (see
 * src/driver/actors.ts). A call starts after the transition that received its request (like
 * an action), and its answer goes to the requesting actor while that one is still running.
 */
import type { ActorLogic, AnyActorRef, Snapshot } from 'xstate';
import type { Step } from './contract.js';
import type { PlannedFilesystem } from './types.js';

export interface PlanFSInput {
  fs: PlannedFilesystem['fs'];
  name: string;
  previous: PlannedFilesystem['previous'];
  signal: AbortSignal;
}

export interface RunStepInput {
  step: Step;
  signal: AbortSignal;
}

export type CallRequest =
  | ({ type: 'PLAN_FS'; owner: AnyActorRef } & Omit<PlanFSInput, 'signal'>)
  | { type: 'RUN_STEP'; owner: AnyActorRef; step: Step };

/** What a filesystem hears back. */
export type CallAnswer =
  | { type: 'PLANNED'; steps: Step[] }
  | { type: 'PLAN_FAILED'; error: unknown }
  | { type: 'STEP_DONE' }
  | { type: 'STEP_FAILED'; error: unknown };

export interface CallImplementations {
  planFS(input: PlanFSInput): PromiseLike<Step[]> | Step[];
  runStep(input: RunStepInput): PromiseLike<void> | void;
}

export interface CallsInput {
  /** Every call of the attempt gets this signal (D10). */
  signal: AbortSignal;
}

export type CallsSnapshot = Snapshot<undefined> & {
  context: Record<string, never>;
  signal: AbortSignal;
};

const STEP_DONE = { type: 'STEP_DONE' } as const;

function answer(owner: AnyActorRef, event: CallAnswer): void {
  if (owner.getSnapshot().status === 'active') owner.send(event);
}

/** Runs `call` and sends its outcome to `owner`; a call that throws at once fails the same way. */
function settle<T>(
  owner: AnyActorRef,
  call: () => PromiseLike<T> | T,
  done: (value: T) => CallAnswer,
  failed: (error: unknown) => CallAnswer,
): void {
  let result: PromiseLike<T>;
  try {
    result = Promise.resolve(call());
  } catch (error) {
    result = Promise.reject(error);
  }
  result.then(
    (value) => answer(owner, done(value)),
    (error: unknown) => answer(owner, failed(error)),
  );
}

/** The calls logic with the given implementations. */
/** Named, so declarations can refer to it (xstate does not export the system type it defaults to). */
export type CallsLogic = ActorLogic<CallsSnapshot, CallRequest, CallsInput>;

export function callsLogic(implementations: CallImplementations): CallsLogic {
  return {
    getInitialSnapshot: (_scope, input) => ({
      status: 'active',
      output: undefined,
      error: undefined,
      context: {},
      signal: input.signal,
    }),
    transition: (snapshot, event, scope) => {
      if ((event as { type: string }).type === 'xstate.stop') {
        return { ...snapshot, status: 'stopped' };
      }
      if (snapshot.status !== 'active') return snapshot;
      const { signal } = snapshot;
      switch (event.type) {
        case 'PLAN_FS': {
          const { owner, fs, name, previous } = event;
          scope.defer(() =>
            settle(
              owner,
              () => implementations.planFS({ fs, name, previous, signal }),
              (steps) => ({ type: 'PLANNED', steps }),
              (error) => ({ type: 'PLAN_FAILED', error }),
            ),
          );
          break;
        }
        case 'RUN_STEP': {
          const { owner, step } = event;
          scope.defer(() =>
            settle(
              owner,
              () => implementations.runStep({ step, signal }),
              () => STEP_DONE,
              (error) => ({ type: 'STEP_FAILED', error }),
            ),
          );
          break;
        }
      }
      return snapshot;
    },
    getPersistedSnapshot: (snapshot) => ({
      status: snapshot.status,
      output: undefined,
      error: undefined,
      context: {},
    }),
  } as CallsLogic;
}

/** The placeholder the attempt machine declares; the driver provides the real calls. */
export const callsNotProvided: CallsLogic = callsLogic({
  planFS: () => Promise.reject(new Error('planFS is not provided')),
  runStep: () => Promise.reject(new Error('runStep is not provided')),
});
