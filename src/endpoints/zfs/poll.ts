/**
 * Bounded polling, for the few zfs states that settle asynchronously (zfs-fuse's daemon may
 * finish discarding a partial receive after the killed `zfs` client has exited).
 */

/** Resolves after `ms`, or rejects with `signal.reason` as soon as it aborts. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
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

/**
 * Calls `check` until it returns true (resolves true) or `timeoutMs` has passed (resolves
 * false); the pause between checks doubles from 20 ms up to 500 ms.
 */
export async function pollUntil(
  check: () => Promise<boolean>,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  let pause = 20;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await delay(Math.min(pause, Math.max(0, deadline - Date.now())), options.signal);
    pause = Math.min(pause * 2, 500);
  }
}
