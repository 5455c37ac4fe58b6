/**
 * A job (JOBS.md "The job lifecycle is a statechart"): `idle` -> `snapshotting` ->
 * `replicating` (the driver's run, its report kept) -> `pruning-sender` -> `pruning-receiver`
 * -> `idle`, waiting for the next TICK (the schedule) or WAKEUP (`xrepl wakeup`). A snap job
 * skips replication and the receiver; a pull job takes no snapshots of its own and starts at
 * `replicating`. Each step's failure leads to its `*-error` state, which
 * keeps the error and behaves as `idle`: the next tick starts over; RESET clears it.
 *
 * The work arrives through `.provide()` (src/jobs/runtime.ts): `snapshot`, `replicate` and
 * `prune` are promise actors, stopped (their signal aborted) when the job is stopped.
 */
import { assign, fromPromise, setup } from 'xstate';

/**
 * What the job does each cycle: push, snap and source take snapshots, push and pull
 * replicate. A sink has no cycle (it serves, outside the chart); a source's cycle is a snap
 * job's without rules to prune by.
 */
export type JobKind = 'push' | 'snap' | 'pull' | 'sink' | 'source';

export interface JobInput {
  name: string;
  kind: JobKind;
  now: () => Date;
}

export interface JobError {
  /** The state the job failed in, e.g. `replicating`. */
  during: string;
  err: string;
  time: Date;
}

export interface JobContext {
  name: string;
  kind: JobKind;
  now: () => Date;
  lastError: JobError | null;
  /** Outputs of the last completed step of each kind (plain data for the report). */
  lastSnapshot: unknown;
  lastRun: unknown;
  lastPruneSender: unknown;
  lastPruneReceiver: unknown;
  /** Cycles started. */
  cycles: number;
}

export type JobEvent = { type: 'TICK' } | { type: 'WAKEUP' } | { type: 'RESET' };

export interface JobStepInput {
  name: string;
}
export interface PruneInput {
  name: string;
  side: 'sender' | 'receiver';
}

const start = [
  { guard: 'snapshots', target: 'snapshotting', actions: 'countCycle' },
  { guard: 'replicates', target: 'replicating', actions: 'countCycle' },
] as const;
const startTransitions = { TICK: start, WAKEUP: start } as const;

export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    events: {} as JobEvent,
    input: {} as JobInput,
  },
  actors: {
    snapshot: fromPromise<unknown, JobStepInput>(async () => {
      throw new Error('snapshot is not provided');
    }),
    replicate: fromPromise<unknown, JobStepInput>(async () => {
      throw new Error('replicate is not provided');
    }),
    prune: fromPromise<unknown, PruneInput>(async () => {
      throw new Error('prune is not provided');
    }),
  },
  guards: {
    snapshots: ({ context }) => context.kind !== 'pull' && context.kind !== 'sink',
    replicates: ({ context }) => context.kind === 'push' || context.kind === 'pull',
  },
  actions: {
    countCycle: assign({ cycles: ({ context }) => context.cycles + 1 }),
    clearError: assign({ lastError: null }),
    recordError: assign({
      lastError: ({ context }, params: { during: string; error: unknown }) => ({
        during: params.during,
        err: params.error instanceof Error ? params.error.message : String(params.error),
        time: context.now(),
      }),
    }),
  },
}).createMachine({
  id: 'job',
  context: ({ input }) => ({
    name: input.name,
    kind: input.kind,
    now: input.now,
    lastError: null,
    lastSnapshot: null,
    lastRun: null,
    lastPruneSender: null,
    lastPruneReceiver: null,
    cycles: 0,
  }),
  initial: 'idle',
  states: {
    idle: { on: startTransitions },
    snapshotting: {
      invoke: {
        id: 'snapshot',
        src: 'snapshot',
        input: ({ context }) => ({ name: context.name }),
        onDone: [
          {
            guard: 'replicates',
            target: 'replicating',
            actions: assign({ lastSnapshot: ({ event }) => event.output }),
          },
          {
            target: 'pruning-sender',
            actions: assign({ lastSnapshot: ({ event }) => event.output }),
          },
        ],
        onError: {
          target: 'snapshotting-error',
          actions: {
            type: 'recordError',
            params: ({ event }) => ({ during: 'snapshotting', error: event.error }),
          },
        },
      },
    },
    replicating: {
      invoke: {
        id: 'replicate',
        src: 'replicate',
        input: ({ context }) => ({ name: context.name }),
        onDone: {
          target: 'pruning-sender',
          actions: assign({ lastRun: ({ event }) => event.output }),
        },
        onError: {
          target: 'replicating-error',
          actions: {
            type: 'recordError',
            params: ({ event }) => ({ during: 'replicating', error: event.error }),
          },
        },
      },
    },
    'pruning-sender': {
      invoke: {
        id: 'pruneSender',
        src: 'prune',
        input: ({ context }) => ({ name: context.name, side: 'sender' as const }),
        onDone: [
          {
            guard: 'replicates',
            target: 'pruning-receiver',
            actions: assign({ lastPruneSender: ({ event }) => event.output }),
          },
          {
            target: 'idle',
            actions: [assign({ lastPruneSender: ({ event }) => event.output }), 'clearError'],
          },
        ],
        onError: {
          target: 'pruning-sender-error',
          actions: {
            type: 'recordError',
            params: ({ event }) => ({ during: 'pruning-sender', error: event.error }),
          },
        },
      },
    },
    'pruning-receiver': {
      invoke: {
        id: 'pruneReceiver',
        src: 'prune',
        input: ({ context }) => ({ name: context.name, side: 'receiver' as const }),
        onDone: {
          target: 'idle',
          actions: [assign({ lastPruneReceiver: ({ event }) => event.output }), 'clearError'],
        },
        onError: {
          target: 'pruning-receiver-error',
          actions: {
            type: 'recordError',
            params: ({ event }) => ({ during: 'pruning-receiver', error: event.error }),
          },
        },
      },
    },
    // Only a job that takes snapshots gets here, so it starts over with one.
    'snapshotting-error': {
      on: {
        TICK: { target: 'snapshotting', actions: 'countCycle' },
        WAKEUP: { target: 'snapshotting', actions: 'countCycle' },
        RESET: { target: 'idle', actions: 'clearError' },
      },
    },
    'replicating-error': {
      on: { ...startTransitions, RESET: { target: 'idle', actions: 'clearError' } },
    },
    'pruning-sender-error': {
      on: { ...startTransitions, RESET: { target: 'idle', actions: 'clearError' } },
    },
    'pruning-receiver-error': {
      on: { ...startTransitions, RESET: { target: 'idle', actions: 'clearError' } },
    },
  },
});

/** The job's state names, as the report and `xrepl status` show them. */
export const JOB_STATES = [
  'idle',
  'snapshotting',
  'replicating',
  'pruning-sender',
  'pruning-receiver',
  'snapshotting-error',
  'replicating-error',
  'pruning-sender-error',
  'pruning-receiver-error',
] as const;
export type JobState = (typeof JOB_STATES)[number];
