/**
 * One attempt: a global planning, then every planned filesystem as a spawned child actor
 * running through one step queue (D3, D4, D6, D8, D11).
 *
 * States are the report's words. The attempt relays initial-replication progress from a
 * filesystem to its descendants (FS_PRESENT -> PARENT_PRESENT, FS_FAILED -> PARENT_FAILED)
 * and counts the filesystems still running; it keeps no other record of their states: the
 * report reads the children's snapshots.
 */
import {
  assign,
  enqueueActions,
  fromPromise,
  setup,
  type ActorRefFrom,
  type AnyActorRef,
} from 'xstate';
import {
  filesystemMachine,
  type FilesystemOutput,
  type FilesystemToAttemptEvent,
} from './filesystem.machine.js';
import { stepQueueLogic } from './stepQueue.logic.js';
import type { Clock, PreparedPlan, TimedError } from './types.js';

export type FilesystemActor = ActorRefFrom<typeof filesystemMachine>;
export type StepQueueActor = ActorRefFrom<typeof stepQueueLogic>;

export interface AttemptInput {
  /** Position of the attempt in the run, from 0. */
  number: number;
  concurrency: number;
  /** The previous attempt's actor, for correspondence (D3) and correlation (D5). */
  previous: AnyActorRef | null;
  signal: AbortSignal;
  now: Clock;
}

export interface AttemptContext {
  number: number;
  concurrency: number;
  previous: AnyActorRef | null;
  signal: AbortSignal;
  now: Clock;
  startAt: Date;
  finishAt: Date | null;
  planError: TimedError | null;
  cancel: { reason: unknown } | null;
  plan: PreparedPlan | null;
  queue: StepQueueActor | null;
  filesystems: FilesystemActor[];
  /** Filesystems that have not reached a final state yet. */
  running: number;
  /** Whether a filesystem ended with an error (from the filesystems' outputs). */
  anyFailed: boolean;
}

export type AttemptEvent =
  | { type: 'CANCEL'; reason: unknown }
  | FilesystemToAttemptEvent
  | { type: 'xstate.done.actor.*'; output: FilesystemOutput };

export interface PlanInput {
  previous: AnyActorRef | null;
  signal: AbortSignal;
}

export type AttemptOutcome = 'done' | 'planning-error' | 'filesystem-error';

export interface AttemptOutput {
  state: AttemptOutcome;
  filesystems: number;
  /** The newest error of the attempt (D9): its planError or any fs's planError / stepError. */
  mostRecentError: TimedError | null;
}

function fsError(fs: FilesystemActor): TimedError | null {
  const { context } = fs.getSnapshot();
  return context.planError ?? context.stepError;
}

/** Newest by time; among equal times, the one recorded last (D9). */
function mostRecentError(context: AttemptContext): TimedError | null {
  let newest: TimedError | null = context.planError;
  for (const fs of context.filesystems) {
    const err = fsError(fs);
    if (err !== null && (newest === null || err.time.getTime() >= newest.time.getTime())) {
      newest = err;
    }
  }
  return newest;
}

export const attemptMachine = setup({
  types: {
    context: {} as AttemptContext,
    events: {} as AttemptEvent,
    input: {} as AttemptInput,
    output: {} as AttemptOutput,
  },
  actors: {
    // The implementation arrives through .provide(): see src/driver/actors.ts.
    plan: fromPromise<PreparedPlan, PlanInput>(async () => {
      throw new Error('plan is not provided');
    }),
    filesystem: filesystemMachine,
    stepQueue: stepQueueLogic,
  },
  guards: {
    cancelled: ({ context }) => context.cancel !== null,
    allFilesystemsEnded: ({ context }) => context.running === 0,
    anyFilesystemFailed: ({ context }) => context.anyFailed,
  },
  actions: {
    recordCancel: assign({
      cancel: ({ context }, params: { reason: unknown }) => context.cancel ?? params,
    }),
    recordPlanError: assign({
      planError: ({ context }, params: { error: unknown }) => {
        const error = params.error;
        return { err: error instanceof Error ? error.message : String(error), time: context.now(), cause: error };
      },
    }),
    acceptPlan: assign({ plan: (_, params: { plan: PreparedPlan }) => params.plan }),
    spawnFilesystems: assign(({ context, spawn, self }) => {
      const plan = context.plan as PreparedPlan;
      const queue = spawn('stepQueue', { id: 'step-queue', input: { concurrency: context.concurrency } });
      const filesystems = plan.filesystems.map((planned, index) =>
        spawn('filesystem', {
          id: `fs-${index}`,
          input: { index, planned, attempt: self, queue, signal: context.signal, now: context.now },
        }),
      );
      return { queue, filesystems, running: filesystems.length };
    }),
    countEnded: assign({
      running: ({ context }) => context.running - 1,
      anyFailed: ({ context }, params: { failed: boolean }) => context.anyFailed || params.failed,
    }),
    relayToDescendants: enqueueActions(
      ({ context, enqueue }, params: { index: number; event: { type: 'PARENT_PRESENT' } | { type: 'PARENT_FAILED'; name: string; cause: unknown } }) => {
        const descendants = context.plan?.descendants[params.index] ?? [];
        for (const d of descendants) {
          const child = context.filesystems[d];
          if (child !== undefined && child.getSnapshot().status === 'active') {
            enqueue.sendTo(child, params.event);
          }
        }
      },
    ),
    cancelFilesystems: enqueueActions(({ context, enqueue }) => {
      const reason = context.cancel?.reason;
      for (const child of context.filesystems) {
        if (child.getSnapshot().status === 'active') {
          enqueue.sendTo(child, { type: 'CANCEL', reason });
        }
      }
    }),
    recordFinish: assign({ finishAt: ({ context }) => context.now() }),
  },
}).createMachine({
  id: 'attempt',
  context: ({ input }) => ({
    number: input.number,
    concurrency: input.concurrency,
    previous: input.previous,
    signal: input.signal,
    now: input.now,
    startAt: input.now(),
    finishAt: null,
    planError: null,
    cancel: null,
    plan: null,
    queue: null,
    filesystems: [],
    running: 0,
    anyFailed: false,
  }),
  // The outcome mirrors the final state reached: planning-error, filesystem-error or done.
  output: ({ context }) => {
    const failed = context.anyFailed;
    return {
      state: context.planError !== null ? 'planning-error' : failed ? 'filesystem-error' : 'done',
      filesystems: context.filesystems.length,
      mostRecentError: mostRecentError(context),
    };
  },
  initial: 'planning',
  states: {
    planning: {
      invoke: {
        id: 'plan',
        src: 'plan',
        input: ({ context }) => ({ previous: context.previous, signal: context.signal }),
        onDone: [
          {
            // D10: a plan() that resolves after cancellation records the cancellation.
            guard: 'cancelled',
            target: 'planning-error',
            actions: {
              type: 'recordPlanError',
              params: ({ context }) => ({ error: context.cancel?.reason }),
            },
          },
          {
            target: 'fan-out-filesystems',
            actions: { type: 'acceptPlan', params: ({ event }) => ({ plan: event.output }) },
          },
        ],
        onError: {
          target: 'planning-error',
          actions: { type: 'recordPlanError', params: ({ event }) => ({ error: event.error }) },
        },
      },
      on: {
        CANCEL: {
          actions: { type: 'recordCancel', params: ({ event }) => ({ reason: event.reason }) },
        },
      },
    },
    'fan-out-filesystems': {
      entry: 'spawnFilesystems',
      always: [
        { guard: 'allFilesystemsEnded', target: 'decide' },
      ],
      on: {
        FS_PRESENT: {
          actions: {
            type: 'relayToDescendants',
            params: ({ event }) => ({ index: event.index, event: { type: 'PARENT_PRESENT' as const } }),
          },
        },
        FS_FAILED: {
          actions: {
            type: 'relayToDescendants',
            params: ({ event }) => ({
              index: event.index,
              event: { type: 'PARENT_FAILED' as const, name: event.name, cause: event.cause },
            }),
          },
        },
        'xstate.done.actor.*': {
          actions: { type: 'countEnded', params: ({ event }) => ({ failed: event.output.failed }) },
        },
        CANCEL: {
          actions: [
            { type: 'recordCancel', params: ({ event }) => ({ reason: event.reason }) },
            'cancelFilesystems',
          ],
        },
      },
    },
    // Transient: every filesystem has ended.
    decide: {
      always: [
        { guard: 'anyFilesystemFailed', target: 'filesystem-error' },
        { target: 'done' },
      ],
    },
    'planning-error': { type: 'final', entry: 'recordFinish' },
    'filesystem-error': { type: 'final', entry: 'recordFinish' },
    done: { type: 'final', entry: 'recordFinish' },
  },
});
