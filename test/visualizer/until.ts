/** Resolves once `cond` holds, checking after every turn of the event loop (no fixed sleeps). */
export function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  return new Promise((ok, fail) => {
    const check = (): void => {
      if (cond()) ok();
      else if (Date.now() - start > timeoutMs)
        fail(new Error(`condition not met within ${timeoutMs} ms`));
      else setImmediate(check);
    };
    check();
  });
}
