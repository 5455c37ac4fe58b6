/**
 * Error classification (D9): which errors a reconnect can cure.
 */
import type { ErrorClass } from '../driver/types.js';
import { certificateFailureOf } from './certificate.js';

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
 * `temporary-connectivity` for a gRPC UNAVAILABLE error or a network timeout, anywhere on the
 * error's `cause` chain; `permanent` otherwise. A TLS certificate failure anywhere on the
 * chain is `permanent` although gRPC reports it as UNAVAILABLE: an untrusted server
 * certificate, a name it does not hold or a client certificate the server refuses stay so
 * however often we reconnect.
 *
 * @example classifyError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })) // 'temporary-connectivity'
 */
export function classifyError(err: unknown): ErrorClass {
  const chain = [...causes(err)];
  if (chain.some((e) => certificateFailureOf(e) !== undefined)) return 'permanent';
  return chain.some(isTemporary) ? 'temporary-connectivity' : 'permanent';
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
