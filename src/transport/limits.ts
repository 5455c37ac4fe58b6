/**
 * How much one server takes on at once. Each Receive and Send call runs a `zfs` process for
 * as long as it lasts, and a host's ZFS daemon refuses every command once a few hundred run
 * together: the server bounds the streams it runs per client identity and overall, and
 * answers the excess at once with a status the client retries later (a temporary error,
 * D2/D14), before any `zfs` process starts.
 *
 * The defaults suit a small server: on zfs-fuse, 8 receives stalled mid-stream at once made
 * the daemon stop answering every command (`zfs list` hung past 20 s), 7 did not (measured
 * with a flood of 200 streams). OpenZFS takes more; raise the limits there.
 */
import { status } from '@grpc/grpc-js';

/** Limits of `startServer`; each a positive integer. */
export interface ServerLimits {
  /** Receive streams at once over all clients (default 6). */
  receives?: number;
  /** Receive streams at once per client identity (default 4); without mutual TLS, one for all. */
  receivesPerClient?: number;
  /** Send streams at once over all clients (default 6). */
  sends?: number;
  /** Send streams at once per client identity (default 4). */
  sendsPerClient?: number;
  /**
   * A Receive call whose header and first bytes have not arrived this long after it began
   * is ended with a temporary error, and gives its place back (default 10 s). No `zfs recv`
   * starts before the first bytes.
   */
  firstByteTimeoutMs?: number;
}

export const DEFAULT_LIMITS: Required<ServerLimits> = {
  receives: 6,
  receivesPerClient: 4,
  sends: 6,
  sendsPerClient: 4,
  firstByteTimeoutMs: 10_000,
};

/** `limits` with the defaults filled in; a clear error for a limit that is not a positive integer. */
export function resolveLimits(limits: ServerLimits = {}): Required<ServerLimits> {
  const resolved = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(`invalid server limit ${key}: ${String(value)} (a positive integer)`);
    }
    resolved[key] = value;
  }
  return resolved;
}

/** Gives a taken place back; a second call does nothing. */
export type Release = () => void;

/**
 * Places for calls of one kind: at most `total` at once, and at most `perClient` for any one
 * client key.
 *
 * @example
 * const receives = new CallLimiter('receive', 6, 4);
 * const release = receives.tryAcquire('alice'); // undefined: refuse the call
 */
export class CallLimiter {
  private running = 0;
  private readonly byClient = new Map<string, number>();

  constructor(
    readonly what: string,
    readonly total: number,
    readonly perClient: number,
  ) {}

  /** Calls running now (all clients). */
  get size(): number {
    return this.running;
  }

  /** A place for `client`, or undefined when it or the server is at its limit. */
  tryAcquire(client: string): Release | undefined {
    const mine = this.byClient.get(client) ?? 0;
    if (mine >= this.perClient || this.running >= this.total) return undefined;
    this.running++;
    this.byClient.set(client, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const left = (this.byClient.get(client) ?? 1) - 1;
      if (left === 0) this.byClient.delete(client);
      else this.byClient.set(client, left);
    };
  }

  /** The error that refuses a call of `client` (who is at its limit, or the server). */
  busy(client: string): ServerBusyError {
    const mine = this.byClient.get(client) ?? 0;
    const message =
      mine >= this.perClient
        ? `the server is busy: this client already runs ${mine} ${this.what} streams, ` +
          `its limit (retry later, or run fewer at once)`
        : `the server is busy: ${this.running} ${this.what} streams run already, ` +
          'its limit (retry later)';
    return new ServerBusyError(message);
  }
}

/**
 * A call refused for lack of a place. Shaped as a gRPC UNAVAILABLE error, so that
 * `classifyError` takes it as temporary and the status sent carries that class: the client
 * retries (D2, D14). The status code itself is RESOURCE_EXHAUSTED.
 */
export class ServerBusyError extends Error {
  override readonly name = 'ServerBusyError';
  readonly code = status.UNAVAILABLE;
  readonly details: string;
  readonly metadata = {};

  constructor(message: string) {
    super(message);
    this.details = message;
  }
}
