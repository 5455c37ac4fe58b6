/**
 * What a server answers when a call fails, the same on gRPC and on the data connection: a
 * request that fails its schema, an unusable client identity, a limit reached, or the
 * endpoint's own error (errors.ts keeps its class, so the client classifies it right).
 */
import { status } from '@grpc/grpc-js';
import type { z } from 'zod';
import { endpointStatus, refusal } from './errors.js';
import {
  isPrunable,
  type DestroySnapshotsReq,
  type DestroySnapshotsResult,
  type Endpoint,
  type Receiver,
} from '../endpoints/types.js';
import { ServerBusyError } from './limits.js';
import { describeIssues } from './wire.js';

/** A request that failed its schema. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
}

/** A client certificate whose identity cannot be used. */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

/** A client asked to destroy snapshots where the server does not allow it. */
export class PruneRefusedError extends Error {
  override readonly name = 'PruneRefusedError';
}

/**
 * A client's prune of its receiver (Receiver.DestroySnapshots, and the data connection's
 * `destroySnapshots`): only where the served receiver offers it (`serve --allow-prune`).
 */
export async function destroyOn(
  endpoint: Endpoint,
  req: DestroySnapshotsReq,
  signal: AbortSignal,
): Promise<DestroySnapshotsResult> {
  const receiver = endpoint as Receiver;
  if (!isPrunable(receiver)) {
    throw new PruneRefusedError(
      'this server does not let clients destroy snapshots: start it with xrepl serve ' +
        '--allow-prune (a sink job: allow_prune: true), or prune where it runs',
    );
  }
  return receiver.destroySnapshots(req, signal);
}

/** `value` parsed by `schema`, or a RequestError naming what is wrong. */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new RequestError(`invalid ${what} request: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** The status for a failed handler: refusals of the request, else the endpoint's error. */
export function statusOf(err: unknown): ReturnType<typeof endpointStatus> {
  if (err instanceof RequestError) return refusal(status.INVALID_ARGUMENT, err.message);
  if (err instanceof IdentityError || err instanceof PruneRefusedError) {
    return refusal(status.PERMISSION_DENIED, err.message);
  }
  // Retried by the client: the error is classified temporary.
  if (err instanceof ServerBusyError) return endpointStatus(err, status.RESOURCE_EXHAUSTED);
  return endpointStatus(err);
}
