/**
 * `fromCall`: the actor logic of one planner call (planFS, step). Like XState's `fromPromise`,
 * with the same snapshots and done / error events, minus what a call of the driver never
 * uses: an AbortController per actor (every call of an attempt gets the attempt's signal
 * through its input, D4, D10) and the async wrapper around the function. With 100,000
 * filesystems there are 400,000 of these.
 */
import type { AnyActorRef, NonReducibleUnknown, PromiseActorLogic, PromiseSnapshot } from 'xstate';

const RESOLVE = 'xstate.promise.resolve';
const REJECT = 'xstate.promise.reject';

type CallEvent = { type: string; data?: unknown };

function settle(self: AnyActorRef, event: CallEvent): void {
  if (self.getSnapshot().status === 'active') self.send(event);
}

export function fromCall<TOutput, TInput extends NonReducibleUnknown>(
  call: (input: TInput) => TOutput | PromiseLike<TOutput>,
): PromiseActorLogic<TOutput, TInput> {
  return {
    config: call,
    transition: (snapshot, event) => {
      if (snapshot.status !== 'active') return snapshot;
      switch (event.type) {
        case RESOLVE:
          return { ...snapshot, status: 'done', output: event.data as TOutput, input: undefined };
        case REJECT:
          return { ...snapshot, status: 'error', error: event.data, input: undefined };
        case 'xstate.stop':
          return { ...snapshot, status: 'stopped', input: undefined };
        default:
          return snapshot;
      }
    },
    start: (snapshot, { self }) => {
      if (snapshot.status !== 'active') return;
      let result: PromiseLike<TOutput>;
      try {
        result = Promise.resolve(call(snapshot.input as TInput));
      } catch (error) {
        result = Promise.reject(error);
      }
      result.then(
        (data) => settle(self, { type: RESOLVE, data }),
        (data: unknown) => settle(self, { type: REJECT, data }),
      );
    },
    getInitialSnapshot: (_, input) => ({
      status: 'active',
      output: undefined,
      error: undefined,
      input,
    }),
    getPersistedSnapshot: (snapshot) => snapshot,
    restoreSnapshot: (snapshot) => snapshot as PromiseSnapshot<TOutput, TInput>,
  } as PromiseActorLogic<TOutput, TInput>;
}
