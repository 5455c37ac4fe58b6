/**
 * A resume token whose snapshot no longer exists on the sender: the interrupted receive cannot
 * be continued. The planner raises it (policy `fail`), and so does a sender whose resumed send
 * finds the snapshot gone. A stale plan in DRIVER.md's words (D13).
 */
export class StaleResumeTokenError extends Error {
  override readonly name = 'StaleResumeTokenError';

  constructor(
    /** The filesystem, relative to the endpoints' roots. */
    readonly filesystem: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
