/**
 * Error classification (D9): which errors a reconnect can cure.
 */
import type { ErrorClass } from '../driver/types.js';
import { certificateFailureOf } from './certificate.js';
import { StalePlanError } from './stale-plan.js';
import { StepStalledError } from './step-stalled.js';

/** `status.UNAVAILABLE` of @grpc/grpc-js (asserted equal in the tests). */
export const GRPC_UNAVAILABLE = 14;

const NETWORK_TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** An error shaped like @grpc/grpc-js's ServiceError: numeric code, string details, object metadata. */
export function isGrpcError(
  err: unknown,
): err is { code: number; details: string; metadata: object } {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Record<string, unknown>;
  return (
    typeof e.code === 'number' &&
    typeof e.details === 'string' &&
    typeof e.metadata === 'object' &&
    e.metadata !== null
  );
}

function isTemporary(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (isGrpcError(err)) return err.code === GRPC_UNAVAILABLE;
  const e = err as Record<string, unknown>;
  if (typeof e.code === 'string' && NETWORK_TIMEOUT_CODES.has(e.code)) return true;
  return e.timeout === true;
}

/** `err` and its `cause` chain, each once. */
function* causes(err: unknown): Generator<object> {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    yield current;
    seen.add(current);
    current = (current as { cause?: unknown }).cause;
  }
}

/**
 * The class of one error of the chain, or undefined when it does not decide. A stalled step
 * (D15) is temporary whatever its cause says; a stale plan (D13) is cured by re-planning.
 */
function classOf(err: object): ErrorClass | undefined {
  if (err instanceof StepStalledError) return 'temporary-connectivity';
  if (err instanceof StalePlanError) return 'stale-plan';
  return isTemporary(err) ? 'temporary-connectivity' : undefined;
}

/**
 * `temporary-connectivity` for a gRPC UNAVAILABLE error, a network timeout or a stalled step
 * (`StepStalledError`), `stale-plan` for a `StalePlanError`: the first of these on the error's
 * `cause` chain decides; `permanent` otherwise. A TLS certificate failure anywhere on the
 * chain is `permanent` although gRPC reports it as UNAVAILABLE: an untrusted server
 * certificate, a name it does not hold or a client certificate the server refuses stay so
 * however often we reconnect.
 *
 * @example classifyError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })) // 'temporary-connectivity'
 */
export function classifyError(err: unknown): ErrorClass {
  const chain = [...causes(err)];
  if (chain.some((e) => certificateFailureOf(e) !== undefined)) return 'permanent';
  for (const e of chain) {
    const cls = classOf(e);
    if (cls !== undefined) return cls;
  }
  return 'permanent';
}

/** The message a report shows for any thrown value (D9: a non-Error becomes its string form). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}
