/**
 * The lifecycle of one filesystem in an attempt (D4-D7, D10).
 *
 * Top-level states are the report's words (`planning`, `stepping`, `planning-error`,
 * `step-error`, `done`). The states that wait carry a tag named after the report's `blockedOn`
 * (`plan-queue`, `parent-initial-repl`, `repl-queue`); every other state has none, which the
 * report shows as `nothing`. The selectors at the end of this file are how the rest of xrepl
 * reads a filesystem's snapshot.
 *
 * The filesystem talks to the attempt's step queue (REQUEST / RELEASE / WITHDRAW, answered by
 * GRANTED), to the attempt's calls actor (PLAN_FS / RUN_STEP on entering `running`, answered
 * by PLANNED / PLAN_FAILED and STEP_DONE / STEP_FAILED: calls.logic.ts) and to its attempt
 * (FS_PRESENT / FS_FAILED, which the attempt forwards to the descendants as PARENT_PRESENT /
 * PARENT_FAILED). The two transient states `after-work` and `parents-changed` decide where to
 * go next; `after-work` is left holding the queue slot, so it either releases it or
 * re-requests in the same round (D8).
 *
 * Healing (D13, D14), off unless the input's `healing` allows it: a failed planning or step
 * whose error is `stale-plan` goes back to `planning` (re-requesting a planning slot in the
 * same round); one whose error is `temporary-connectivity` waits in `retry-wait` (tag
 * `retry-backoff`) for the back-off, a delayed transition, and then plans again. Neither
 * records planError or stepError: those hold only the error a filesystem ends with.
 */
import { assign, enqueueActions, sendTo, setup, type AnyActorRef, type SnapshotFrom } from 'xstate';
import type { FS, Step } from './contract.js';
import type { CallAnswer } from './calls.logic.js';
import { timed } from './timed.js';
import { cancelled, keepFirstCancel, recordCancel } from './shared.js';
import type { Clock, PlannedFilesystem, PreviousPlan, TimedError } from './types.js';
import { NO_HEALING, retryDelay, type Healed, type Healing } from './healing.js';

/** The tags of the waiting states: what a filesystem waits for, in the report's words (D11). */
export type BlockedTag = 'plan-queue' | 'parent-initial-repl' | 'repl-queue' | 'retry-backoff';

export interface FilesystemInput {
  index: number;
  planned: PlannedFilesystem;
  /**
   * PARENT_PRESENT events to wait for before the first step (D6). The attempt sends one when
   * the last ancestor became present; default: 1 if the filesystem has ancestors.
   */
  parentsPending?: number;
  /**
   * Whether filesystems below this one wait for it (D6); default true. Without any, the
   * attempt need not hear when it becomes present or fails.
   */
  hasDescendants?: boolean;
  /** The attempt, told when this filesystem becomes present or fails (D6). */
  attempt: AnyActorRef;
  queue: AnyActorRef;
  /** The attempt's calls actor: runs planFS and the steps (calls.logic.ts). */
  calls: AnyActorRef;
  now: Clock;
  /** Re-plans and retries allowed (D13, D14); default none. */
  healing?: Healing;
}

export interface FilesystemContext {
  index: number;
  name: string;
  fs: PlannedFilesystem['fs'];
  previous: PreviousPlan | undefined;
  attempt: AnyActorRef;
  queue: AnyActorRef;
  calls: AnyActorRef;
  now: Clock;
  /** PARENT_PRESENT events still to come: ancestors not yet present on the receiver (D6). */
  parentsPending: number;
  /** Whether the attempt relays this filesystem's presence or failure to descendants (D6). */
  hasDescendants: boolean;
  /** Ancestors that failed before they became present, in arrival order (D6). */
  failedParents: string[];
  /** The error of the first failed ancestor: the cause of this fs's own error, so the run
   * classifies it as the ancestor's error (a dropped connection stays temporary, D9). */
  parentFailure: unknown;
  /** Null until planning succeeded. */
  steps: Step[] | null;
  /** Index of the next step to run. */
  currentStep: number;
  planError: TimedError | null;
  stepError: TimedError | null;
  /** Set when CANCEL arrived while a call was running (D10). */
  cancel: { reason: unknown } | null;
  /** targetDate of the next step, computed once per step when planned or advanced (D8). */
  next: { date: number } | { error: unknown } | null;
  /** The limits of D13, D14 and what this filesystem did so far (healing.ts). */
  healing: Healing;
}

export type FilesystemEvent =
  | { type: 'GRANTED' }
  | { type: 'CANCEL'; reason: unknown }
  | { type: 'PARENT_PRESENT' }
  | { type: 'PARENT_FAILED'; name: string; cause: unknown }
  | CallAnswer;

/** What a filesystem tells its attempt when it ends. */
export interface FilesystemOutput {
  index: number;
  /** Its planning or step error (D9); null when it is done. */
  error: TimedError | null;
}

/** What a filesystem tells its attempt. */
export type FilesystemToAttemptEvent =
  | { type: 'FS_PRESENT'; index: number }
  | { type: 'FS_FAILED'; index: number; name: string; cause: unknown };

function firstStepIsIncremental(steps: Step[]): boolean {
  try {
    return steps.length > 0 && (steps[0] as Step).reportInfo().from !== '';
  } catch {
    return false;
  }
}

/**
 * Present on the receiver: no steps, an incremental first step, or a completed step (D6); or
 * present before it planned again (D13, D14).
 */
function presentOnReceiver(context: FilesystemContext): boolean {
  const { steps } = context;
  if (context.healing.present) return true;
  if (steps === null) return false;
  return steps.length === 0 || context.currentStep >= 1 || firstStepIsIncremental(steps);
}

/**
 * True exactly once, in `after-work`: right after planning (no steps, or an incremental first
 * step) or right after the first step completed (a full first step).
 */
function becamePresent(context: FilesystemContext): boolean {
  if (context.healing.present) return false; // announced before it planned again
  const steps = context.steps ?? [];
  if (context.currentStep > 1) return false; // present since the first step at the latest
  if (context.currentStep === 0) return steps.length === 0 || firstStepIsIncremental(steps);
  return !firstStepIsIncremental(steps);
}

function nextTarget(
  context: Pick<FilesystemContext, 'steps' | 'currentStep'>,
): FilesystemContext['next'] {
  const step = context.steps?.[context.currentStep];
  if (step === undefined) return null;
  try {
    const date = step.targetDate();
    return { date: date instanceof Date ? date.getTime() : NaN };
  } catch (error) {
    return { error };
  }
}

/** The error of a failed call (PLAN_FAILED, STEP_FAILED). */
function failureOf(event: FilesystemEvent): unknown {
  return event.type === 'PLAN_FAILED' || event.type === 'STEP_FAILED' ? event.error : undefined;
}

/** What planning again resets: no steps yet (D13, D14). */
const PLAN_AGAIN = { steps: null, currentStep: 0, next: null } as const;

export const filesystemMachine = setup({
  types: {
    context: {} as FilesystemContext,
    events: {} as FilesystemEvent,
    input: {} as FilesystemInput,
    output: {} as FilesystemOutput,
    tags: {} as BlockedTag,
  },
  guards: {
    cancelled,
    parentsFailed: ({ context }) => context.failedParents.length > 0,
    parentsPending: ({ context }) => context.parentsPending > 0,
    allStepsDone: ({ context }) => context.currentStep >= (context.steps?.length ?? 0),
    targetDateFailed: ({ context }) => context.next !== null && 'error' in context.next,
    // D13, D14: the limits are checked before the error is classified, so a run without
    // healing never classifies here. A cancelled filesystem ends as D10 says.
    canReplan: ({ context, event }) =>
      context.cancel === null &&
      context.healing.replans < context.healing.replanLimit &&
      context.healing.classify(failureOf(event)) === 'stale-plan',
    canRetry: ({ context, event }) =>
      context.cancel === null &&
      context.healing.retries < context.healing.retryLimit &&
      context.healing.classify(failureOf(event)) === 'temporary-connectivity',
  },
  delays: {
    // Set when the wait began, as retryAt (D14).
    retryBackoff: ({ context }) => retryDelay(context.healing.backoffMs, context.healing.retries),
  },
  actions: {
    // The calls run in the attempt's calls actor, which answers PLANNED / PLAN_FAILED and
    // STEP_DONE / STEP_FAILED.
    callPlanFS: sendTo(
      ({ context }) => context.calls,
      ({ context, self }) => ({
        type: 'PLAN_FS',
        owner: self,
        fs: context.fs,
        name: context.name,
        previous: context.previous,
      }),
    ),
    callStep: sendTo(
      ({ context }) => context.calls,
      ({ context, self }) => ({
        type: 'RUN_STEP',
        owner: self,
        step: (context.steps as Step[])[context.currentStep] as Step,
      }),
    ),
    requestPlanSlot: sendTo(
      ({ context }) => context.queue,
      ({ self }) => ({ type: 'REQUEST', owner: self, date: null }),
    ),
    // A planning after a retry's back-off: not one of the plannings the queue was told of.
    requestPlanSlotAgain: sendTo(
      ({ context }) => context.queue,
      ({ self }) => ({ type: 'REQUEST', owner: self, date: null, again: true }),
    ),
    // D13: release the slot and ask for a planning slot in the same round (D8).
    requeueForPlanning: sendTo(
      ({ context }) => context.queue,
      ({ self }) => ({ type: 'RELEASE', owner: self, next: null }),
    ),
    requestStepSlot: sendTo(
      ({ context }) => context.queue,
      ({ context, self }) => ({ type: 'REQUEST', owner: self, date: nextDate(context) }),
    ),
    requeueForStep: sendTo(
      ({ context }) => context.queue,
      ({ context, self }) => ({ type: 'RELEASE', owner: self, next: nextDate(context) }),
    ),
    releaseSlot: sendTo(
      ({ context }) => context.queue,
      ({ self }) => ({ type: 'RELEASE', owner: self }),
    ),
    withdrawFromQueue: sendTo(
      ({ context }) => context.queue,
      ({ self }) => ({ type: 'WITHDRAW', owner: self }),
    ),
    // One assign per transition: each assign is a new snapshot. The next step's target date
    // is computed here, once per step (D8), for the decision that follows in a transient state.
    acceptPlan: assign(({ context }, params: { steps: Step[] }) => ({
      steps: params.steps,
      next: nextTarget({ steps: params.steps, currentStep: context.currentStep }),
    })),
    recordPlanError: assign({
      planError: ({ context }, params: { error: unknown }) => timed(params.error, context.now),
    }),
    recordCancel: assign(keepFirstCancel<FilesystemContext>),
    recordPlanCancelled: assign({
      planError: ({ context }) => timed(context.cancel?.reason, context.now),
    }),
    recordStepCancelled: assign({
      stepError: ({ context }) => timed(context.cancel?.reason, context.now),
    }),
    recordStepError: assign({
      stepError: ({ context }, params: { error: unknown }) => timed(params.error, context.now),
    }),
    recordParentsFailed: assign({
      stepError: ({ context }) =>
        timed(
          new Error(
            `parent(s) failed during initial replication: ${context.failedParents.join(', ')}`,
            { cause: context.parentFailure },
          ),
          context.now,
        ),
    }),
    recordTargetDateError: assign({
      stepError: ({ context }) =>
        timed(
          context.next !== null && 'error' in context.next ? context.next.error : undefined,
          context.now,
        ),
    }),
    advance: assign(({ context }) => {
      const currentStep = context.currentStep + 1;
      return { currentStep, next: nextTarget({ steps: context.steps, currentStep }) };
    }),
    // D13: plan afresh; the new plan stands (no D5 correlation: the pools changed).
    startReplan: assign(({ context }, params: { error: unknown }) => {
      const { healing } = context;
      return {
        ...PLAN_AGAIN,
        previous: undefined,
        healing: {
          ...healing,
          replans: healing.replans + 1,
          retryError: timed(params.error, context.now),
          present: healing.present || presentOnReceiver(context),
        },
      };
    }),
    // D14: wait before retry i. After a failed step the next plan is correlated with what
    // this one had left (D5); after a failed planning it stands.
    startRetryWait: assign(({ context }, params: { error: unknown }) => {
      const { healing } = context;
      const retries = healing.retries + 1;
      const { steps, currentStep } = context;
      const retryError = timed(params.error, context.now);
      return {
        ...PLAN_AGAIN,
        previous: steps === null ? undefined : { left: steps.slice(currentStep) },
        healing: {
          ...healing,
          retries,
          retryError,
          retryAt: new Date(context.now().getTime() + retryDelay(healing.backoffMs, retries)),
          present: healing.present || presentOnReceiver(context),
        },
      };
    }),
    endRetryWait: assign({
      healing: ({ context }) => ({ ...context.healing, retryAt: null }),
    }),
    countParentPresent: assign({ parentsPending: ({ context }) => context.parentsPending - 1 }),
    recordParentFailed: assign({
      failedParents: ({ context }, params: { name: string; cause: unknown }) => [
        ...context.failedParents,
        params.name,
      ],
      parentFailure: ({ context }, params: { name: string; cause: unknown }) =>
        context.failedParents.length === 0 ? params.cause : context.parentFailure,
    }),
    // Sent after the slot's release, so woken children join a later queue round (D8).
    announceIfNowPresent: enqueueActions(({ context, enqueue }) => {
      if (context.hasDescendants && becamePresent(context)) {
        enqueue.sendTo(context.attempt, { type: 'FS_PRESENT', index: context.index });
      }
    }),
    announceFailureIfNotPresent: enqueueActions(({ context, enqueue }) => {
      if (context.hasDescendants && !presentOnReceiver(context)) {
        enqueue.sendTo(context.attempt, {
          type: 'FS_FAILED',
          index: context.index,
          name: context.name,
          cause: filesystemError({ context })?.cause,
        });
      }
    }),
  },
}).createMachine({
  id: 'filesystem',
  context: ({ input }) => ({
    index: input.index,
    name: input.planned.name,
    fs: input.planned.fs,
    previous: input.planned.previous,
    attempt: input.attempt,
    queue: input.queue,
    calls: input.calls,
    now: input.now,
    parentsPending: input.parentsPending ?? Math.min(1, input.planned.ancestors),
    hasDescendants: input.hasDescendants ?? true,
    failedParents: [],
    parentFailure: undefined,
    steps: null,
    currentStep: 0,
    planError: null,
    stepError: null,
    cancel: null,
    next: null,
    healing: input.healing ?? NO_HEALING,
  }),
  output: ({ context }) => ({
    index: context.index,
    error: filesystemError({ context }),
  }),
  // The first planning request; a re-plan asks for its slot on its transition (D8, D13).
  entry: 'requestPlanSlot',
  initial: 'planning',
  on: {
    PARENT_PRESENT: { actions: 'countParentPresent' },
    PARENT_FAILED: {
      actions: {
        type: 'recordParentFailed',
        params: ({ event }) => ({ name: event.name, cause: event.cause }),
      },
    },
  },
  states: {
    planning: {
      initial: 'waiting-for-slot',
      states: {
        'waiting-for-slot': {
          tags: 'plan-queue',
          on: {
            GRANTED: 'running',
            CANCEL: {
              target: '#filesystem.planning-error',
              actions: [recordCancel, 'withdrawFromQueue', 'recordPlanCancelled'],
            },
          },
        },
        running: {
          entry: 'callPlanFS',
          on: {
            PLANNED: {
              target: '#filesystem.stepping.after-work',
              actions: { type: 'acceptPlan', params: ({ event }) => ({ steps: event.steps }) },
            },
            PLAN_FAILED: [
              {
                guard: 'canReplan',
                target: 'waiting-for-slot',
                actions: [
                  { type: 'startReplan', params: ({ event }) => ({ error: event.error }) },
                  'requeueForPlanning',
                ],
              },
              {
                guard: 'canRetry',
                target: '#filesystem.retry-wait',
                actions: [
                  { type: 'startRetryWait', params: ({ event }) => ({ error: event.error }) },
                  'releaseSlot',
                ],
              },
              {
                target: '#filesystem.planning-error',
                actions: [
                  { type: 'recordPlanError', params: ({ event }) => ({ error: event.error }) },
                  'releaseSlot',
                ],
              },
            ],
            CANCEL: {
              actions: recordCancel,
            },
          },
        },
      },
    },
    stepping: {
      initial: 'after-work',
      states: {
        // Transient, holding the queue slot after planning or a step: release or re-request.
        'after-work': {
          always: [
            {
              guard: 'cancelled',
              target: '#filesystem.step-error',
              actions: ['recordStepCancelled', 'releaseSlot', 'announceIfNowPresent'],
            },
            {
              guard: 'parentsFailed',
              target: '#filesystem.step-error',
              actions: ['recordParentsFailed', 'releaseSlot', 'announceIfNowPresent'],
            },
            {
              guard: 'parentsPending',
              target: 'waiting-for-parents',
              actions: ['releaseSlot', 'announceIfNowPresent'],
            },
            {
              guard: 'allStepsDone',
              target: '#filesystem.done',
              actions: ['releaseSlot', 'announceIfNowPresent'],
            },
            {
              guard: 'targetDateFailed',
              target: '#filesystem.step-error',
              actions: ['recordTargetDateError', 'releaseSlot', 'announceIfNowPresent'],
            },
            { target: 'waiting-for-slot', actions: ['requeueForStep', 'announceIfNowPresent'] },
          ],
        },
        'waiting-for-parents': {
          tags: 'parent-initial-repl',
          on: {
            PARENT_PRESENT: { target: 'parents-changed', actions: 'countParentPresent' },
            PARENT_FAILED: {
              target: 'parents-changed',
              actions: {
                type: 'recordParentFailed',
                params: ({ event }) => ({ name: event.name, cause: event.cause }),
              },
            },
            CANCEL: {
              target: '#filesystem.step-error',
              actions: [recordCancel, 'recordStepCancelled'],
            },
          },
        },
        // Transient, holding no slot: a parent became present or failed.
        'parents-changed': {
          always: [
            {
              guard: 'parentsFailed',
              target: '#filesystem.step-error',
              actions: 'recordParentsFailed',
            },
            { guard: 'parentsPending', target: 'waiting-for-parents' },
            { guard: 'allStepsDone', target: '#filesystem.done' },
            {
              guard: 'targetDateFailed',
              target: '#filesystem.step-error',
              actions: 'recordTargetDateError',
            },
            { target: 'waiting-for-slot', actions: 'requestStepSlot' },
          ],
        },
        'waiting-for-slot': {
          tags: 'repl-queue',
          on: {
            GRANTED: 'running',
            CANCEL: {
              target: '#filesystem.step-error',
              actions: [recordCancel, 'withdrawFromQueue', 'recordStepCancelled'],
            },
          },
        },
        running: {
          entry: 'callStep',
          on: {
            STEP_DONE: { target: 'after-work', actions: 'advance' },
            STEP_FAILED: [
              {
                guard: 'canReplan',
                target: '#filesystem.planning.waiting-for-slot',
                actions: [
                  { type: 'startReplan', params: ({ event }) => ({ error: event.error }) },
                  'requeueForPlanning',
                ],
              },
              {
                guard: 'canRetry',
                target: '#filesystem.retry-wait',
                actions: [
                  { type: 'startRetryWait', params: ({ event }) => ({ error: event.error }) },
                  'releaseSlot',
                ],
              },
              {
                target: '#filesystem.step-error',
                actions: [
                  { type: 'recordStepError', params: ({ event }) => ({ error: event.error }) },
                  'releaseSlot',
                ],
              },
            ],
            CANCEL: {
              actions: recordCancel,
            },
          },
        },
      },
    },
    // D14: the back-off before planning again, holding no slot.
    'retry-wait': {
      tags: 'retry-backoff',
      after: {
        retryBackoff: { target: 'planning', actions: ['endRetryWait', 'requestPlanSlotAgain'] },
      },
      on: {
        CANCEL: {
          target: 'step-error',
          actions: [recordCancel, 'recordStepCancelled', 'endRetryWait'],
        },
      },
    },
    'planning-error': { type: 'final', entry: 'announceFailureIfNotPresent' },
    'step-error': { type: 'final', entry: 'announceFailureIfNotPresent' },
    done: { type: 'final' },
  },
});

function nextDate(context: FilesystemContext): number {
  return context.next !== null && 'date' in context.next ? context.next.date : NaN;
}

// ---- selectors: how the report, the attempt and the next attempt read a filesystem ----------

export type FilesystemSnapshot = SnapshotFrom<typeof filesystemMachine>;

const BLOCKED_TAGS: readonly BlockedTag[] = [
  'plan-queue',
  'parent-initial-repl',
  'repl-queue',
  'retry-backoff',
];

/** What the filesystem waits for: the tag of its state, or `nothing` (D11). */
export function blockedOn(snapshot: FilesystemSnapshot): BlockedTag | 'nothing' {
  for (const tag of BLOCKED_TAGS) if (snapshot.hasTag(tag)) return tag;
  return 'nothing';
}

/** The report's state: the top-level state (`planning`, `stepping`, or a final state). */
export function filesystemState(
  snapshot: FilesystemSnapshot,
): 'planning' | 'stepping' | 'retry-wait' | 'planning-error' | 'step-error' | 'done' {
  const { value } = snapshot;
  if (typeof value === 'string') return value;
  return 'planning' in value ? 'planning' : 'stepping';
}

/** The filesystem's error, from a snapshot or the chart's own context: planning, else step (D9). */
export function filesystemError({
  context,
}: {
  context: Pick<FilesystemContext, 'planError' | 'stepError'>;
}): TimedError | null {
  return context.planError ?? context.stepError;
}

/** What the filesystem did to heal itself in this attempt (D13, D14); zeros and nulls if nothing. */
export function filesystemHealing(snapshot: FilesystemSnapshot): Healed {
  return snapshot.context.healing;
}

/** What the next attempt correlates with (D3, D5): the fs, its name, its steps and progress. */
export function filesystemProgress(snapshot: FilesystemSnapshot): {
  fs: FS;
  name: string;
  steps: Step[] | null;
  currentStep: number;
} {
  const { context } = snapshot;
  return {
    fs: context.fs,
    name: context.name,
    steps: context.steps,
    currentStep: context.currentStep,
  };
}
