/** Waiting until both endpoints are reachable, naming the side that is not. */
import type { Endpoint } from '../endpoints/types.js';

/** Properties by which errors are classified (D9): copied so the wrapper classifies alike. */
const CLASSIFYING_KEYS = ['code', 'details', 'metadata', 'timeout', 'errno', 'syscall'] as const;

/**
 * One endpoint could not be reached. The message names the side; `cause` is the endpoint's
 * original error, whose classifying properties (`code`, `details`, `metadata`, `timeout`, ...)
 * are also copied onto this error: a gRPC UNAVAILABLE stays UNAVAILABLE, an ETIMEDOUT stays one.
 */
export class EndpointUnreachableError extends Error {
  override readonly name = 'EndpointUnreachableError';

  constructor(
    readonly side: 'sender' | 'receiver',
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`${side} is unreachable: ${reason}`, { cause });
    if (typeof cause === 'object' && cause !== null) {
      for (const key of CLASSIFYING_KEYS) {
        if (key in cause) Object.assign(this, { [key]: (cause as Record<string, unknown>)[key] });
      }
    }
  }
}

/**
 * Waits for both endpoints in parallel. The first side to fail is reported (the other call is
 * aborted and awaited, so nothing is left running); an abort of `signal` rejects with the
 * endpoints' own abort errors, unwrapped.
 */
export async function waitForBoth(
  sender: Endpoint,
  receiver: Endpoint,
  signal: AbortSignal,
): Promise<void> {
  signal.throwIfAborted();
  const both = new AbortController();
  const stop = (): void => both.abort(signal.reason);
  signal.addEventListener('abort', stop, { once: true });
  let failure: EndpointUnreachableError | undefined;
  const wait = async (side: 'sender' | 'receiver', endpoint: Endpoint): Promise<void> => {
    try {
      await endpoint.waitForConnectivity(both.signal);
    } catch (err) {
      if (both.signal.aborted) throw err;
      failure = new EndpointUnreachableError(side, err);
      both.abort(failure);
    }
  };
  try {
    const results = await Promise.allSettled([wait('sender', sender), wait('receiver', receiver)]);
    if (failure) throw failure;
    signal.throwIfAborted();
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
