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
 * chunks. They are children of the attempt (their parent, for events and inspection) but
 * are not kept in the snapshot's `children` map: XState copies that map once per child it
 * stops, which made ending an attempt quadratic in its filesystems. A filesystem stops
 * itself when it reaches a final state, and the attempt ends only after every filesystem
 * did, so none is left running (D12). (Stopping the root actor from outside, which the API
 * does not offer, stops the attempt and its queue but not filesystems still running: they
 * settle their current call and then wait, without timers, for a grant that never comes.)
 */
import {
  assign,
  createActor,
  enqueueActions,
  fromPromise,
  setup,
  type ActorRefFrom,
  type AnyActorRef,
  type AnyStateMachine,
} from 'xstate';
import {
  filesystemError,
  filesystemMachine,
  type FilesystemOutput,
  type FilesystemSnapshot,
  type FilesystemToAttemptEvent,
} from './filesystem.machine.js';
import { callsNotProvided } from './calls.logic.js';
import { synchronousScheduler } from './scheduler.js';
import { timed } from './timed.js';
import { cancelled, finishNow, keepFirstCancel, recordCancel } from './shared.js';
import { stepQueueLogic } from './stepQueue.logic.js';
import type { Clock, PreparedPlan, Scheduler, TimedError } from './types.js';

/** Filesystems started per SPAWN_MORE event. */
export const SPAWN_CHUNK = 200;

export type FilesystemActor = ActorRefFrom<typeof filesystemMachine>;

/**
 * A filesystem that has ended, held as its final snapshot only. The stopped actor around it
 * (mailbox, scope, listeners) is about 1.7 KB that nothing needs any more: 170 MB at 100,000
 * filesystems. Reports and the next attempt read the snapshot, as they would the actor's.
 */
export class EndedFilesystem {
  constructor(private readonly snapshot: FilesystemSnapshot) {}

  getSnapshot(): FilesystemSnapshot {
    return this.snapshot;
  }
}

/** A filesystem of an attempt: its actor while it runs, its final snapshot once it ended. */
export type FilesystemRef = FilesystemActor | EndedFilesystem;

/** The actor of a filesystem that is still running, or null. */
function runningActor(ref: FilesystemRef): FilesystemActor | null {
  if (ref instanceof EndedFilesystem) return null;
  return ref.getSnapshot().status === 'active' ? ref : null;
}
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
}

/** A PARENT_FAILED for a filesystem not started yet: delivered when it starts. */
interface ParentFailure {
  name: string;
  cause: unknown;
}

export interface AttemptContext {
  number: number;
  concurrency: number;
  previous: AnyActorRef | null;
  signal: AbortSignal;
  now: Clock;
  scheduler: Scheduler;
  chunkSize: number;
  startAt: Date;
  finishAt: Date | null;
  planError: TimedError | null;
  cancel: { reason: unknown } | null;
  plan: PreparedPlan | null;
  queue: StepQueueActor | null;
  /** Runs every planFS and step of the attempt (calls.logic.ts). */
  calls: CallsActor | null;
  /**
   * The filesystems started so far, in plan order (all of them once the fan-out is over).
   * Owned by this attempt and appended in place, chunk by chunk; an actor that ended is
   * replaced in place by its final snapshot.
   */
  filesystems: FilesystemRef[];
  /**
   * parentsLeft[i]: ancestors of filesystem i not yet present on the receiver (D6). Counters
   * owned by this attempt and updated in place (like the step queue's heap): one FS_PRESENT
   * of `pool` must not copy 100,000 numbers. Null before the fan-out.
   */
  parentsLeft: Int32Array | null;
  /** Ancestors' failures for filesystems not started yet, by index. */
  earlyFailures: Map<number, ParentFailure[]>;
  /** Filesystems that have not reached a final state yet. */
  running: number;
  /** Whether a filesystem ended with an error (from the filesystems' outputs). */
  anyFailed: boolean;
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

/** Newest by time; among equal times, the one recorded last (D9). */
function mostRecentError(context: AttemptContext): TimedError | null {
  let newest: TimedError | null = context.planError;
  for (const fs of context.filesystems) {
    const err = filesystemError(fs.getSnapshot());
    if (err !== null && (newest === null || err.time.getTime() >= newest.time.getTime())) {
      newest = err;
    }
  }
  return newest;
}

/** The `filesystem` logic the attempt was provided with: what `spawn('filesystem')` would use. */
function filesystemLogic(self: AnyActorRef): typeof filesystemMachine {
  const machine = (self as unknown as { logic: AnyStateMachine }).logic;
  return (machine.implementations.actors.filesystem ??
    filesystemMachine) as typeof filesystemMachine;
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
    acceptPlan: assign((_, params: { plan: PreparedPlan }) => ({
      plan: params.plan,
      parentsLeft: Int32Array.from(params.plan.filesystems, (f) => f.ancestors),
      running: params.plan.filesystems.length,
    })),
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
    // Creates the next chunk; startChunk starts it. Created like `spawn('filesystem')` would,
    // with the attempt as parent, but outside `children` (see the top of this file).
    spawnChunk: assign({
      filesystems: ({ context, self }) => {
        const plan = context.plan as PreparedPlan;
        const left = context.parentsLeft as Int32Array;
        const logic = filesystemLogic(self);
        const from = context.filesystems.length;
        const to = Math.min(plan.filesystems.length, from + context.chunkSize);
        const chunk: FilesystemActor[] = [];
        for (let index = from; index < to; index++) {
          chunk.push(
            createActor(logic, {
              id: `fs-${index}`,
              parent: self,
              input: {
                index,
                planned: plan.filesystems[index] as PreparedPlan['filesystems'][number],
                parentsPending: (left[index] as number) > 0 ? 1 : 0,
                hasDescendants: (plan.descendants[index]?.length ?? 0) > 0,
                attempt: self,
                queue: context.queue as StepQueueActor,
                calls: context.calls as CallsActor,
                now: context.now,
              },
            }) as FilesystemActor,
          );
        }
        // Appended in place: a copy per chunk would be 500 arrays of up to 100,000 refs.
        for (const fs of chunk) context.filesystems.push(fs);
        return context.filesystems;
      },
    }),
    // Starts the chunk just created, like spawn does, and asks for the next chunk after the
    // event loop had a turn.
    startChunk: ({ context, self }, params: { chunk: number }) => {
      const from = params.chunk * context.chunkSize;
      const to = context.filesystems.length;
      for (let i = from; i < to; i++) (context.filesystems[i] as FilesystemActor).start();
      if (to < (context.plan?.filesystems.length ?? 0)) {
        const next = { type: 'SPAWN_MORE' as const, chunk: params.chunk + 1 };
        context.scheduler.later(() => self.send(next));
      }
    },
    // Tells the chunk just started what happened before it existed: ancestors that failed,
    // cancellation (D6, D10).
    catchUpChunk: enqueueActions(({ context, enqueue }, params: { chunk: number }) => {
      const from = params.chunk * context.chunkSize;
      const to = context.filesystems.length;
      for (let i = from; i < to; i++) {
        const child = runningActor(context.filesystems[i] as FilesystemRef);
        if (child === null) continue;
        for (const f of context.earlyFailures.get(i) ?? []) {
          enqueue.sendTo(child, { type: 'PARENT_FAILED', name: f.name, cause: f.cause });
        }
        if (context.cancel !== null)
          enqueue.sendTo(child, { type: 'CANCEL', reason: context.cancel.reason });
      }
    }),
    // Counts the filesystem out and keeps only its final snapshot (in place, like the chunks).
    countEnded: assign(({ context }, params: { index: number; failed: boolean }) => {
      const ref = context.filesystems[params.index];
      if (ref !== undefined && !(ref instanceof EndedFilesystem)) {
        context.filesystems[params.index] = new EndedFilesystem(ref.getSnapshot());
      }
      return { running: context.running - 1, anyFailed: context.anyFailed || params.failed };
    }),
    // Counts down the descendants' missing ancestors; a descendant hears once, when its last
    // ancestor became present (so a present `pool` costs one decrement per filesystem, not
    // one event).
    relayPresent: enqueueActions(({ context, enqueue }, params: { index: number }) => {
      const left = context.parentsLeft as Int32Array;
      const started = context.filesystems.length;
      for (const d of context.plan?.descendants[params.index] ?? []) {
        left[d] = (left[d] as number) - 1;
        if (left[d] !== 0 || d >= started) continue;
        const child = runningActor(context.filesystems[d] as FilesystemRef);
        if (child !== null) enqueue.sendTo(child, { type: 'PARENT_PRESENT' });
      }
    }),
    relayFailed: enqueueActions(
      ({ context, enqueue }, params: ParentFailure & { index: number }) => {
        const started = context.filesystems.length;
        for (const d of context.plan?.descendants[params.index] ?? []) {
          if (d >= started) {
            const list = context.earlyFailures.get(d);
            if (list === undefined)
              context.earlyFailures.set(d, [{ name: params.name, cause: params.cause }]);
            else list.push({ name: params.name, cause: params.cause });
            continue;
          }
          const child = runningActor(context.filesystems[d] as FilesystemRef);
          if (child !== null) {
            enqueue.sendTo(child, {
              type: 'PARENT_FAILED',
              name: params.name,
              cause: params.cause,
            });
          }
        }
      },
    ),
    cancelFilesystems: enqueueActions(({ context, enqueue }) => {
      const reason = context.cancel?.reason;
      for (const ref of context.filesystems) {
        const child = runningActor(ref);
        if (child !== null) enqueue.sendTo(child, { type: 'CANCEL', reason });
      }
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
    startAt: input.now(),
    finishAt: null,
    planError: null,
    cancel: null,
    plan: null,
    queue: null,
    calls: null,
    filesystems: [],
    parentsLeft: null,
    earlyFailures: new Map(),
    running: 0,
    anyFailed: false,
  }),
  // The outcome mirrors the final state reached: planning-error, filesystem-error or done.
  output: ({ context }) => {
    const failed = context.anyFailed;
    return {
      state: context.planError !== null ? 'planning-error' : failed ? 'filesystem-error' : 'done',
      filesystems: context.plan?.filesystems.length ?? 0,
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
          actions: recordCancel,
        },
      },
    },
    'fan-out-filesystems': {
      entry: [
        'spawnQueue',
        'spawnCalls',
        'spawnChunk',
        { type: 'startChunk', params: { chunk: 0 } },
        { type: 'catchUpChunk', params: { chunk: 0 } },
      ],
      always: [{ guard: 'allFilesystemsEnded', target: 'decide' }],
      on: {
        SPAWN_MORE: {
          guard: 'isNextChunk',
          actions: [
            'spawnChunk',
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
            params: ({ event }) => ({ index: event.output.index, failed: event.output.failed }),
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
