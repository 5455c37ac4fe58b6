/** Planning errors: why a filesystem cannot be replicated as it is, naming the versions. */

/** The kinds of planning conflict; `PlanningError.kind` tells them apart. */
export type PlanningErrorKind =
  | 'no-common-ancestor'
  | 'diverged'
  | 'no-sender-snapshots'
  | 'initial-replication-disabled'
  | 'resume-token-invalid'
  | 'placeholder-conflict';

/**
 * A planning conflict of one filesystem. A plain Error with a message that says what happened
 * and what to do; `kind` and `filesystem` are for programs.
 */
export class PlanningError extends Error {
  override readonly name = 'PlanningError';

  constructor(
    readonly kind: PlanningErrorKind,
    readonly filesystem: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot replicate ${filesystem}: ${message}`, options);
  }
}
