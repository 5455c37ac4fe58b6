/**
 * Errors across the wire (D9). The server sends an endpoint's error as a status carrying the
 * endpoint's own message and its class; the client turns every failed call back into an error
 * the driver classifies right:
 * - the endpoint failed (zfs said no): permanent, with zfs's message;
 * - the endpoint found the plan stale (a snapshot gone since planning): a StalePlanError (D13);
 * - the connection failed (refused, dropped, reset, stalled past a deadline): gRPC UNAVAILABLE
 *   or a network timeout, so the driver waits for connectivity and retries;
 * - the TLS handshake failed on a certificate: permanent, with what to fix.
 */
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import {
  certificateFailureIn,
  certificateFailureOf,
  TLS_CERTIFICATE_CODE,
  type CertificateFailure,
} from '../errors/certificate.js';
import { classifyError, errorMessage } from '../errors/classify.js';
import { StalePlanError } from '../errors/stale-plan.js';

/** Trailing metadata by which a status from an endpoint is told apart from a transport failure. */
const ORIGIN_KEY = 'xrepl-error-origin';
const CLASS_KEY = 'xrepl-error-class';

/** An error shaped as @grpc/grpc-js's ServiceError, so `classifyError` recognises its code. */
export class GrpcEndpointError extends Error {
  override readonly name = 'GrpcEndpointError';
  readonly metadata: Metadata;

  constructor(
    message: string,
    readonly code: status,
    readonly details: string,
    options?: { cause?: unknown; metadata?: Metadata },
  ) {
    super(message, options);
    this.metadata = options?.metadata ?? new Metadata();
  }
}

/** A stalled peer: a network timeout (D9: `code: 'ETIMEDOUT'`, `timeout: true`). */
export class GrpcTimeoutError extends Error {
  override readonly name = 'GrpcTimeoutError';
  readonly code = 'ETIMEDOUT';
  readonly timeout = true;
}

/** What to fix for each kind of certificate failure. */
const CERTIFICATE_ADVICE: Record<CertificateFailure['kind'], string> = {
  'untrusted-server':
    "the server's TLS certificate is not trusted: tls-ca must name the CA that signed it",
  'name-mismatch':
    "the server's TLS certificate does not hold the name connected to: connect by a name " +
    'the certificate holds, or give it as tls-server-name=NAME',
  'client-refused':
    'the server refused the TLS client certificate: tls-cert must be signed by the CA ' +
    "of the server's --tls-ca",
};

/**
 * A TLS handshake that failed on a certificate: permanent (D9 refined), since the same
 * certificates fail the same way on every reconnect.
 */
export class TlsCertificateError extends Error {
  override readonly name = 'TlsCertificateError';
  readonly code = TLS_CERTIFICATE_CODE;

  constructor(
    where: string,
    readonly failure: CertificateFailure,
    options?: { cause?: unknown },
  ) {
    const required = /certificate required/.test(failure.detail)
      ? 'the server requires a TLS client certificate: give tls-cert and tls-key'
      : CERTIFICATE_ADVICE[failure.kind];
    super(`${where}: ${required} (${failure.detail})`, options);
  }
}

/** An endpoint error (or a refusal of the server's own) as the status the client receives. */
export function endpointStatus(err: unknown, code?: status): Partial<StatusObject> {
  const metadata = new Metadata();
  metadata.set(ORIGIN_KEY, 'endpoint');
  const errorClass = classifyError(err);
  const temporary = errorClass === 'temporary-connectivity';
  metadata.set(CLASS_KEY, errorClass);
  return {
    code: code ?? (temporary ? status.UNAVAILABLE : status.FAILED_PRECONDITION),
    details: errorMessage(err),
    metadata,
  };
}

/** A refusal by the server itself (bad request, unknown identity), with its own status code. */
export function refusal(code: status, message: string): Partial<StatusObject> {
  return endpointStatus(new Error(message), code);
}

function isServiceError(err: unknown): err is ServiceError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Partial<ServiceError>;
  return typeof e.code === 'number' && typeof e.details === 'string';
}

/** Status codes by which gRPC reports a connection that failed rather than a call that did. */
const CONNECTION_CODES = new Set<status>([
  status.UNAVAILABLE,
  status.CANCELLED, // the peer went away (a local cancel is handled before)
  status.INTERNAL, // e.g. "Received RST_STREAM with code 2" when the server dies mid-stream
  status.UNKNOWN,
]);

/** What a refused call means for the operator. */
function hint(code: status): string {
  switch (code) {
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return " (check the client certificate and the server's --tls-ca)";
    case status.UNIMPLEMENTED:
      return ' (is the server serving the other role? see `xrepl serve --role`)';
    case status.RESOURCE_EXHAUSTED:
      return ' (a message exceeded the size limit)';
    default:
      return '';
  }
}

/**
 * The error a failed call rejects with. `address` names the server in the message; an error
 * that is not a gRPC status (a local bug, a stream error) passes through unchanged.
 */
export function fromCallError(err: unknown, address: string, what: string): unknown {
  if (!isServiceError(err)) return err;
  const metadata = err.metadata instanceof Metadata ? err.metadata : new Metadata();
  if (metadata.get(ORIGIN_KEY)[0] === 'endpoint') {
    const errorClass = metadata.get(CLASS_KEY)[0];
    const code = errorClass === 'temporary-connectivity' ? status.UNAVAILABLE : err.code;
    const error = new GrpcEndpointError(`${address}: ${err.details}`, code, err.details, {
      cause: err,
      metadata,
    });
    return errorClass === 'stale-plan'
      ? new StalePlanError(error.message, { cause: error })
      : error;
  }
  if (err.code === status.DEADLINE_EXCEEDED) {
    return new GrpcTimeoutError(`${address}: ${what}: no answer before the deadline`, {
      cause: err,
    });
  }
  if (CONNECTION_CODES.has(err.code)) {
    const failure = certificateFailureIn(err.details);
    if (failure !== undefined) {
      return new TlsCertificateError(`${address}: ${what}`, failure, { cause: err });
    }
    return new GrpcEndpointError(
      `${address}: ${what}: connection failed: ${err.details}`,
      status.UNAVAILABLE,
      err.details,
      { cause: err },
    );
  }
  return new GrpcEndpointError(
    `${address}: ${what} refused: ${err.details}${hint(err.code)}`,
    err.code,
    err.details,
    { cause: err },
  );
}

/**
 * A failure of the connection itself (refused, dropped, stalled), as opposed to an answer of
 * the server's endpoint: after one, the channel may be dead.
 */
export function isConnectionFailure(err: unknown): boolean {
  return err instanceof GrpcTimeoutError || isTransportUnavailable(err);
}

/** UNAVAILABLE from gRPC itself, not an endpoint's temporary error passed on by the server. */
function isTransportUnavailable(err: unknown): err is GrpcEndpointError {
  return (
    err instanceof GrpcEndpointError &&
    err.code === status.UNAVAILABLE &&
    err.metadata.get(ORIGIN_KEY)[0] !== 'endpoint'
  );
}

/** A connection that never came up for a reason grpc-js does not name (a probe may tell). */
export function isUnexplainedConnectFailure(err: unknown): boolean {
  return (
    isTransportUnavailable(err) &&
    /No connection established/.test(err.details) &&
    !/\b(?:ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT)\b/.test(err.details)
  );
}

/** A status as the data connection carries it (JSON): what a client needs to classify it. */
export interface WireStatus {
  code: number;
  details: string;
  /** `endpoint`: the serving endpoint's answer, not a failure of the connection. */
  origin?: string;
  class?: string;
}

export function statusToWire(s: Partial<StatusObject>): WireStatus {
  const metadata = s.metadata ?? new Metadata();
  const origin = metadata.get(ORIGIN_KEY)[0];
  const errorClass = metadata.get(CLASS_KEY)[0];
  return {
    code: s.code ?? status.UNKNOWN,
    details: s.details ?? '',
    ...(typeof origin === 'string' && { origin }),
    ...(typeof errorClass === 'string' && { class: errorClass }),
  };
}

/** The error a status received on the data connection stands for, as `fromCallError` makes it. */
export function fromWireStatus(s: WireStatus, address: string, what: string): unknown {
  const metadata = new Metadata();
  if (s.origin !== undefined) metadata.set(ORIGIN_KEY, s.origin);
  if (s.class !== undefined) metadata.set(CLASS_KEY, s.class);
  const err = Object.assign(new Error(s.details), { code: s.code, details: s.details, metadata });
  return fromCallError(err, address, what);
}

/**
 * A data connection that failed under a call (refused, reset, closed early): the same
 * temporary UNAVAILABLE as a lost gRPC connection, or the certificate failure it was.
 */
export function connectionFailure(err: unknown, address: string, what: string): unknown {
  if (err instanceof GrpcTimeoutError || err instanceof TlsCertificateError) return err;
  const certificate = certificateFailureOf(err);
  if (certificate !== undefined)
    return new TlsCertificateError(`${address}: ${what}`, certificate, { cause: err });
  const details = errorMessage(err);
  return new GrpcEndpointError(
    `${address}: ${what}: connection failed: ${details}`,
    status.UNAVAILABLE,
    details,
    { cause: err },
  );
}
