/** Abortable waits that leave no timer or listener behind once they settle. */

/** Resolves after `ms` (at once for ms <= 0); rejects with `signal.reason` when aborted. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (!(ms > 0)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Calls `onAbort(reason)` when `signal` aborts; returns the function that unsubscribes. */
export function onAbort(signal: AbortSignal, onAbort: (reason: unknown) => void): () => void {
  const listener = (): void => onAbort(signal.reason);
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
