/**
 * The run: attempt after attempt until done, a permanent error, no attempts left, a failed
 * reconnect, or cancellation (D2, D10).
 *
 * States are the report's words (`attempting`, `waiting-reconnect`, `done`, `failed`,
 * `cancelled`); `deciding` is transient and never seen in a snapshot. Each attempt is a
 * spawned child kept in `context.attempts`, so the report can read every attempt's final
 * snapshot after it ended. The reconnect deadline is a delayed transition, re-armed in chunks
 * because timers cannot exceed 2^31-1 ms.
 */
import { assign, enqueueActions, fromPromise, setup, type ActorRefFrom } from 'xstate';
import { attemptMachine, type AttemptOutput } from './attempt.machine.js';
import { synchronousScheduler } from './scheduler.js';
import { timed } from './timed.js';
import { cancelled, finishNow, keepFirstCancel, recordCancel } from './shared.js';
import { healingOf, type Healing } from './healing.js';
import type { Clock, Scheduler, TimedError } from './types.js';
import type { ErrorClass } from './contract.js';

/** The latest time a Date can hold (ECMAScript: 8.64e15 ms after the epoch). */
const LATEST_DATE_MS = 8.64e15;

/** Longest delay a timer can hold (2^31-1 ms); longer deadlines are re-armed. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export type AttemptActor = ActorRefFrom<typeof attemptMachine>;

/** The driver's config as the run reads it: DriverConfig (src/config/driver-config.ts checks). */
export interface RunConfig {
  stepQueueConcurrency: number;
  maxAttempts: number;
  reconnectHardFailTimeoutMs: number;
  /** D13: re-plans per filesystem and attempt (default 0). */
  replanLimit?: number | undefined;
  /** D14: retries per filesystem and attempt (default 0). */
  filesystemRetries?: number | undefined;
  /** D14: the first retry's back-off (default 1000 ms). */
  filesystemRetryBackoffMs?: number | undefined;
  /** D15: the driver's stall watch reads it (src/driver/stall.ts); the charts do not. */
  stepStallTimeoutMs?: number | undefined;
}

export interface RunInput {
  config: RunConfig;
  signal: AbortSignal;
  now: Clock;
  classify: (error: unknown) => ErrorClass;
  /** Gives the event loop a turn in long runs of synchronous work; default: never. */
  scheduler?: Scheduler;
  /** Set when the run's signal was already aborted at start (D10). */
  cancelledAtStart?: { reason: unknown };
}

export interface RunContext {
  config: RunConfig;
  signal: AbortSignal;
  now: Clock;
  classify: (error: unknown) => ErrorClass;
  scheduler: Scheduler;
  /** What a filesystem may do to heal itself within an attempt (D13, D14). */
  healing: Healing;
  startAt: Date;
  finishAt: Date | null;
  attempts: AttemptActor[];
  lastOutcome: AttemptOutput | null;
  waitReconnectSince: Date | null;
  waitReconnectUntil: Date | null;
  waitReconnectError: TimedError | null;
  /** Reconnect time not yet covered by an armed timer. */
  reconnectLeftMs: number;
  cancel: { reason: unknown } | null;
}

export type RunEvent =
  { type: 'CANCEL'; reason: unknown } | { type: 'xstate.done.actor.*'; output: AttemptOutput };

export interface LogParams {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  data?: Record<string, unknown>;
}

export interface WaitForConnectivityInput {
  signal: AbortSignal;
}

export const runMachine = setup({
  types: {
    context: {} as RunContext,
    events: {} as RunEvent,
    input: {} as RunInput,
  },
  actors: {
    attempt: attemptMachine,
    // The implementation arrives through .provide(): see src/driver/actors.ts.
    waitForConnectivity: fromPromise<void, WaitForConnectivityInput>(async () => {
      throw new Error('waitForConnectivity is not provided');
    }),
  },
  delays: {
    reconnectChunk: ({ context }) => Math.min(context.reconnectLeftMs, MAX_TIMER_MS),
  },
  guards: {
    cancelled,
    noAttemptYet: ({ context }) => context.lastOutcome === null,
    attemptDone: ({ context }) => context.lastOutcome?.state === 'done',
    attemptDoneWithoutFilesystems: ({ context }) =>
      context.lastOutcome?.state === 'done' && context.lastOutcome.filesystems === 0,
    attemptReportsNoError: ({ context }) => context.lastOutcome?.mostRecentError == null,
    temporaryErrorWithAttemptsLeft: ({ context }) => {
      const err = context.lastOutcome?.mostRecentError;
      const { maxAttempts } = context.config;
      const attemptsLeft = maxAttempts === -1 || context.attempts.length < maxAttempts;
      return (
        attemptsLeft && err != null && context.classify(err.cause) === 'temporary-connectivity'
      );
    },
    lastReconnectChunk: ({ context }) => context.reconnectLeftMs <= MAX_TIMER_MS,
  },
  actions: {
    // Logging is an effect: the driver provides it (src/driver/replicate.ts); silent here.
    log: (_, _params: LogParams) => {},
    spawnAttempt: assign({
      attempts: ({ context, spawn }) => [
        ...context.attempts,
        spawn('attempt', {
          id: `attempt-${context.attempts.length}`,
          input: {
            number: context.attempts.length,
            concurrency: context.config.stepQueueConcurrency,
            previous: context.attempts[context.attempts.length - 1] ?? null,
            signal: context.signal,
            now: context.now,
            scheduler: context.scheduler,
            healing: context.healing,
          },
        }),
      ],
    }),
    recordOutcome: assign({
      lastOutcome: (_, params: { output: AttemptOutput }) => params.output,
    }),
    recordCancel: assign(keepFirstCancel<RunContext>),
    cancelAttempt: enqueueActions(({ context, enqueue }) => {
      const current = context.attempts[context.attempts.length - 1];
      if (current !== undefined && current.getSnapshot().status === 'active') {
        enqueue.sendTo(current, { type: 'CANCEL', reason: context.cancel?.reason });
      }
    }),
    startReconnectWindow: assign(({ context }) => {
      const since = context.now();
      return {
        waitReconnectSince: since,
        // A finite timeout may reach past the latest Date (D2): the deadline is then that Date.
        waitReconnectUntil: new Date(
          Math.min(since.getTime() + context.config.reconnectHardFailTimeoutMs, LATEST_DATE_MS),
        ),
        reconnectLeftMs: context.config.reconnectHardFailTimeoutMs,
      };
    }),
    consumeReconnectChunk: assign({
      reconnectLeftMs: ({ context }) => context.reconnectLeftMs - MAX_TIMER_MS,
    }),
    clearReconnectError: assign({ waitReconnectError: null }),
    recordReconnectError: assign({
      waitReconnectError: ({ context }, params: { error: unknown }) =>
        timed(params.error, context.now),
    }),
    recordFinish: assign(finishNow<RunContext>),
  },
}).createMachine({
  id: 'run',
  context: ({ input }) => ({
    config: input.config,
    signal: input.signal,
    now: input.now,
    classify: input.classify,
    scheduler: input.scheduler ?? synchronousScheduler,
    healing: healingOf(input.config, input.classify),
    startAt: input.now(),
    finishAt: null,
    attempts: [],
    lastOutcome: null,
    waitReconnectSince: null,
    waitReconnectUntil: null,
    waitReconnectError: null,
    reconnectLeftMs: 0,
    cancel: input.cancelledAtStart ?? null,
  }),
  initial: 'deciding',
  states: {
    // Transient: what comes after the previous attempt (D2), or the first attempt.
    deciding: {
      always: [
        { guard: 'cancelled', target: 'cancelled' },
        { guard: 'noAttemptYet', target: 'attempting' },
        {
          guard: 'attemptDoneWithoutFilesystems',
          target: 'done',
          actions: {
            type: 'log',
            params: { level: 'warn', msg: 'no filesystems were considered for replication' },
          },
        },
        { guard: 'attemptDone', target: 'done' },
        {
          guard: 'attemptReportsNoError',
          target: 'failed',
          actions: {
            type: 'log',
            params: {
              level: 'warn',
              msg: 'attempt is not done but reports no error: aborting run',
            },
          },
        },
        { guard: 'temporaryErrorWithAttemptsLeft', target: 'waiting-reconnect' },
        {
          target: 'failed',
          actions: {
            type: 'log',
            params: {
              level: 'error',
              msg: 'most recent error cannot be solved by reconnecting: aborting run',
            },
          },
        },
      ],
    },
    attempting: {
      entry: 'spawnAttempt',
      on: {
        'xstate.done.actor.*': {
          target: 'deciding',
          actions: { type: 'recordOutcome', params: ({ event }) => ({ output: event.output }) },
        },
        CANCEL: {
          actions: [recordCancel, 'cancelAttempt'],
        },
      },
    },
    'waiting-reconnect': {
      entry: [
        'startReconnectWindow',
        {
          type: 'log',
          params: {
            level: 'error',
            msg: 'temporary connectivity-related error: waiting for reconnect',
          },
        },
      ],
      invoke: {
        id: 'waitForConnectivity',
        src: 'waitForConnectivity',
        input: ({ context }) => ({ signal: context.signal }),
        onDone: {
          target: 'attempting',
          actions: [
            'clearReconnectError',
            { type: 'log', params: { level: 'info', msg: 'reconnected' } },
          ],
        },
        onError: {
          target: 'failed',
          actions: {
            type: 'recordReconnectError',
            params: ({ event }) => ({ error: event.error }),
          },
        },
      },
      initial: 'timer',
      states: {
        timer: {
          after: {
            reconnectChunk: [
              {
                guard: 'lastReconnectChunk',
                target: '#run.failed',
                actions: {
                  type: 'recordReconnectError',
                  params: ({ context }) => ({
                    error: new Error(
                      `reconnect deadline of ${context.config.reconnectHardFailTimeoutMs} ms exceeded`,
                    ),
                  }),
                },
              },
              { target: 'timer', reenter: true, actions: 'consumeReconnectChunk' },
            ],
          },
        },
      },
      on: {
        CANCEL: {
          target: 'cancelled',
          actions: recordCancel,
        },
      },
    },
    done: { type: 'final', entry: 'recordFinish' },
    failed: { type: 'final', entry: 'recordFinish' },
    cancelled: { type: 'final', entry: 'recordFinish' },
  },
});
