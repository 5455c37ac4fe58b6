/**
 * A plan that no longer matches the pools (D13): a snapshot it sends is gone from the sender,
 * or the resume token it continues was cleared. Re-planning the one filesystem cures it.
 */
export class StalePlanError extends Error {
  /**
   * @example
   * throw new StalePlanError('pool/a@s2 no longer exists on the sender', { cause: zfsError });
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StalePlanError';
  }
}
