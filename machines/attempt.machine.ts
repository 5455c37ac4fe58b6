/**
 * One attempt: a global planning, then every planned filesystem as a child actor running
 * through one step queue, with one calls actor running their planFS and step calls (D3, D4,
 * D6, D8, D11).
 *
 * States are the report's words. The attempt relays initial-replication progress from a
 * filesystem to its descendants (FS_PRESENT -> PARENT_PRESENT once a descendant's last
 * ancestor is present, FS_FAILED -> PARENT_FAILED) and counts the filesystems still running;
 * it keeps no other record of their states: the report reads the children's snapshots.
 *
 * Scale (100,000 filesystems): the filesystems are started in chunks of `chunkSize`, one chunk
 * per SPAWN_MORE event, with the injected Scheduler giving the event loop a turn between
 * chunks. Their bookkeeping, mutated in place for speed, has one owner: the FanOut
 * (fan-out.ts). They are children of the attempt (their parent, for events and inspection)
 * but are not kept in the snapshot's `children` map: XState copies that map once per child it
 * stops, which made ending an attempt quadratic in its filesystems. A filesystem stops
 * itself when it reaches a final state, and the attempt ends only after every filesystem
 * did, so none is left running (D12). (Stopping the root actor from outside, which the API
 * does not offer, stops the attempt and its queue but not filesystems still running: they
 * settle their current call and then wait, without timers, for a grant that never comes.)
 */
import {
  assign,
  enqueueActions,
  fromPromise,
  setup,
  type ActorRefFrom,
  type AnyActorRef,
} from 'xstate';
import { callsNotProvided } from './calls.logic.js';
import { FanOut, type FilesystemRef, type SendToFilesystem } from './fan-out.js';
import type { FilesystemOutput, FilesystemToAttemptEvent } from './filesystem.machine.js';
import { synchronousScheduler } from './scheduler.js';
import { cancelled, finishNow, keepFirstCancel, recordCancel, type Cancel } from './shared.js';
import { stepQueueLogic } from './stepQueue.logic.js';
import { timed } from './timed.js';
import { NO_HEALING, type Healing } from './healing.js';
import type { Clock, PreparedPlan, Scheduler, TimedError } from './types.js';

export { EndedFilesystem, type FilesystemActor, type FilesystemRef } from './fan-out.js';

/** Filesystems started per SPAWN_MORE event. */
export const SPAWN_CHUNK = 200;

export type StepQueueActor = ActorRefFrom<typeof stepQueueLogic>;
export type CallsActor = ActorRefFrom<typeof callsNotProvided>;

export interface AttemptInput {
  /** Position of the attempt in the run, from 0. */
  number: number;
  concurrency: number;
  /** The previous attempt's actor, for correspondence (D3) and correlation (D5). */
  previous: AnyActorRef | null;
  signal: AbortSignal;
  now: Clock;
  /** Gives the event loop a turn between chunks of work; default: never. */
  scheduler?: Scheduler;
  /** Filesystems started per SPAWN_MORE (default SPAWN_CHUNK). */
  chunkSize?: number;
  /** What each filesystem may do to heal itself (D13, D14); default nothing. */
  healing?: Healing;
}

export interface AttemptContext {
  number: number;
  concurrency: number;
  previous: AnyActorRef | null;
  signal: AbortSignal;
  now: Clock;
  scheduler: Scheduler;
  chunkSize: number;
  healing: Healing;
  startAt: Date;
  finishAt: Date | null;
  planError: TimedError | null;
  cancel: Cancel | null;
  plan: PreparedPlan | null;
  queue: StepQueueActor | null;
  /** Runs every planFS and step of the attempt (calls.logic.ts). */
  calls: CallsActor | null;
  /** The fan-out's bookkeeping (fan-out.ts); null before the plan. */
  fanOut: FanOut | null;
  /** The filesystems started so far, in plan order: the FanOut's own list, read-only here. */
  filesystems: readonly FilesystemRef[];
  /** Filesystems that have not reached a final state yet. */
  running: number;
  /** Whether a filesystem ended with an error (from the filesystems' outputs). */
  anyFailed: boolean;
  /**
   * The newest error of the filesystems that ended (D9), from their outputs: newest by time,
   * among equal times the one recorded last. A filesystem records its error on entering its
   * final state, so the order in which they end is the order in which their errors were
   * recorded. Null while none failed.
   */
  newestError: TimedError | null;
}

export type AttemptEvent =
  | { type: 'CANCEL'; reason: unknown }
  /** Internal: start chunk `chunk` of the filesystems (sent through the Scheduler). */
  | { type: 'SPAWN_MORE'; chunk: number }
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

/** `b` if it is at least as new as `a`: newest by time, the one recorded last among equals (D9). */
function newer(a: TimedError | null, b: TimedError | null): TimedError | null {
  if (b === null) return a;
  return a === null || b.time.getTime() >= a.time.getTime() ? b : a;
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
    stepQueue: stepQueueLogic,
    // The implementation arrives through .provide(): see src/driver/actors.ts.
    calls: callsNotProvided,
  },
  guards: {
    cancelled,
    allFilesystemsEnded: ({ context }) => context.running === 0,
    isNextChunk: ({ context, event }) =>
      event.type === 'SPAWN_MORE' && event.chunk * context.chunkSize === context.filesystems.length,
    anyFilesystemFailed: ({ context }) => context.anyFailed,
  },
  actions: {
    recordCancel: assign(keepFirstCancel<AttemptContext>),
    recordPlanError: assign({
      planError: ({ context }, params: { error: unknown }) => timed(params.error, context.now),
    }),
    acceptPlan: assign((_, params: { plan: PreparedPlan }) => {
      const fanOut = new FanOut(params.plan);
      return {
        plan: params.plan,
        fanOut,
        filesystems: fanOut.filesystems,
        running: params.plan.filesystems.length,
      };
    }),
    spawnQueue: assign({
      queue: ({ context, spawn }) =>
        spawn('stepQueue', {
          id: 'step-queue',
          input: {
            concurrency: context.concurrency,
            scheduler: context.scheduler,
            plannings: context.plan?.filesystems.length ?? 0,
          },
        }),
    }),
    spawnCalls: assign({
      calls: ({ context, spawn }) =>
        spawn('calls', { id: 'calls', input: { signal: context.signal } }),
    }),
    // Starts the next chunk of filesystems and asks for the one after it once the event loop
    // had a turn.
    startChunk: ({ context, self }, params: { chunk: number }) => {
      const fanOut = context.fanOut as FanOut;
      fanOut.startNext(context.chunkSize, {
        attempt: self,
        queue: context.queue as StepQueueActor,
        calls: context.calls as CallsActor,
        now: context.now,
        healing: context.healing,
      });
      if (!fanOut.allStarted) {
        const next = { type: 'SPAWN_MORE' as const, chunk: params.chunk + 1 };
        context.scheduler.later(() => self.send(next));
      }
    },
    // Tells the chunk just started what happened before it existed (D6, D10).
    catchUpChunk: enqueueActions(({ context, enqueue }, params: { chunk: number }) => {
      const send: SendToFilesystem = (to, event) => enqueue.sendTo(to, event);
      context.fanOut?.catchUp(params.chunk * context.chunkSize, context.cancel, send);
    }),
    // Counts the filesystem out, keeps its error if it is the newest (D9) and lets the fan-out
    // keep only its final snapshot.
    countEnded: assign(({ context }, params: FilesystemOutput) => {
      context.fanOut?.ended(params.index);
      return {
        running: context.running - 1,
        anyFailed: context.anyFailed || params.error !== null,
        newestError: newer(context.newestError, params.error),
      };
    }),
    relayPresent: enqueueActions(({ context, enqueue }, params: { index: number }) => {
      context.fanOut?.present(params.index, (to, event) => enqueue.sendTo(to, event));
    }),
    relayFailed: enqueueActions(
      ({ context, enqueue }, params: { index: number; name: string; cause: unknown }) => {
        const failure = { name: params.name, cause: params.cause };
        context.fanOut?.failed(params.index, failure, (to, event) => enqueue.sendTo(to, event));
      },
    ),
    cancelFilesystems: enqueueActions(({ context, enqueue }) => {
      context.fanOut?.cancel(context.cancel?.reason, (to, event) => enqueue.sendTo(to, event));
    }),
    recordFinish: assign(finishNow<AttemptContext>),
  },
}).createMachine({
  id: 'attempt',
  context: ({ input }) => ({
    number: input.number,
    concurrency: input.concurrency,
    previous: input.previous,
    signal: input.signal,
    now: input.now,
    scheduler: input.scheduler ?? synchronousScheduler,
    chunkSize: input.chunkSize ?? SPAWN_CHUNK,
    healing: input.healing ?? NO_HEALING,
    startAt: input.now(),
    finishAt: null,
    planError: null,
    cancel: null,
    plan: null,
    queue: null,
    calls: null,
    fanOut: null,
    filesystems: [],
    running: 0,
    anyFailed: false,
    newestError: null,
  }),
  // The outcome mirrors the final state reached: planning-error, filesystem-error or done.
  output: ({ context }) => ({
    state:
      context.planError !== null
        ? 'planning-error'
        : context.anyFailed
          ? 'filesystem-error'
          : 'done',
    filesystems: context.plan?.filesystems.length ?? 0,
    // A planning error means no filesystem ran.
    mostRecentError: context.planError ?? context.newestError,
  }),
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
          actions: recordCancel,
        },
      },
    },
    'fan-out-filesystems': {
      entry: [
        'spawnQueue',
        'spawnCalls',
        { type: 'startChunk', params: { chunk: 0 } },
        { type: 'catchUpChunk', params: { chunk: 0 } },
      ],
      always: [{ guard: 'allFilesystemsEnded', target: 'decide' }],
      on: {
        SPAWN_MORE: {
          guard: 'isNextChunk',
          actions: [
            { type: 'startChunk', params: ({ event }) => ({ chunk: event.chunk }) },
            { type: 'catchUpChunk', params: ({ event }) => ({ chunk: event.chunk }) },
          ],
        },
        FS_PRESENT: {
          actions: { type: 'relayPresent', params: ({ event }) => ({ index: event.index }) },
        },
        FS_FAILED: {
          actions: {
            type: 'relayFailed',
            params: ({ event }) => ({ index: event.index, name: event.name, cause: event.cause }),
          },
        },
        'xstate.done.actor.*': {
          actions: {
            type: 'countEnded',
            params: ({ event }) => event.output,
          },
        },
        CANCEL: {
          actions: [recordCancel, 'cancelFilesystems'],
        },
      },
    },
    // Transient: every filesystem has ended.
    decide: {
      always: [{ guard: 'anyFilesystemFailed', target: 'filesystem-error' }, { target: 'done' }],
    },
    'planning-error': { type: 'final', entry: 'recordFinish' },
    'filesystem-error': { type: 'final', entry: 'recordFinish' },
    done: { type: 'final', entry: 'recordFinish' },
  },
});
