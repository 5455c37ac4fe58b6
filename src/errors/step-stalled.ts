/**
 * The abort reason of a step whose bytes stopped moving (D15). Once the step settled, the
 * driver records this same error for it, with whatever the step rejected with as its `cause`;
 * it classifies as `temporary-connectivity`, so D14 or D2 retries the filesystem.
 */
export class StepStalledError extends Error {
  /** @example new StepStalledError('pool/a@s2: no bytes replicated for 600000 ms') */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StepStalledError';
  }
}
