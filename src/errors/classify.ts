/**
 * Error classification (D9): which errors a reconnect can cure.
 */
import type { ErrorClass } from '../driver/types.js';

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

/**
 * `temporary-connectivity` for a gRPC UNAVAILABLE error or a network timeout, anywhere on the
 * error's `cause` chain; `permanent` otherwise.
 *
 * @example classifyError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })) // 'temporary-connectivity'
 */
export function classifyError(err: unknown): ErrorClass {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    if (isTemporary(current)) return 'temporary-connectivity';
    seen.add(current);
    current = (current as { cause?: unknown }).cause;
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
