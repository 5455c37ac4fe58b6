/**
 * Deterministic fault injection for one memory endpoint, settable while it runs: latency per
 * call, throttled streams, a stream that fails or stops moving after N bytes (of any
 * filesystem, or of one), a dropped connection, a one-shot failure of the next call of a
 * method, and a snapshot destroyed between planning and its send (D13-D15 heal these).
 */
import { delay } from './timers.js';

/** The endpoint calls that faults apply to. */
export type EndpointMethod =
  | 'listFilesystems'
  | 'listFilesystemVersions'
  | 'waitForConnectivity'
  | 'sendDry'
  | 'send'
  | 'sendCompleted'
  | 'receive';

/** How an injected stream failure fails: a Node socket reset, a gRPC UNAVAILABLE, or as given. */
export type StreamFailure = 'econnreset' | 'unavailable' | Error;

/** A Node-style connection reset (`code: 'ECONNRESET'`). */
export function connectionResetError(
  message = 'connection reset by peer',
): Error & { code: string } {
  return Object.assign(new Error(`read ECONNRESET: ${message}`), { code: 'ECONNRESET' });
}

/** An error shaped like `@grpc/grpc-js`'s status UNAVAILABLE (code 14): the driver retries it. */
export function unavailableError(
  details = 'connection dropped',
): Error & { code: number; details: string; metadata: Record<string, unknown> } {
  return Object.assign(new Error(`14 UNAVAILABLE: ${details}`), {
    code: 14,
    details,
    metadata: {},
  });
}

/** Whether a fault for `target` (undefined: any filesystem) applies to `filesystem`. */
function applies(target: string | undefined, filesystem: string): boolean {
  return target === undefined || target === filesystem;
}

function failureError(failure: StreamFailure, bytes: number): Error {
  if (failure === 'econnreset') return connectionResetError(`injected after ${bytes} bytes`);
  if (failure === 'unavailable') return unavailableError(`connection dropped after ${bytes} bytes`);
  return failure;
}

/**
 * The faults of one endpoint (`memorySender(...).faults`, `memoryReceiver(...).faults`).
 *
 * @example
 * receiver.faults.failAfterBytes(100_000, 'unavailable'); // the next receive breaks mid-stream
 * sender.faults.drop(); // calls reject with UNAVAILABLE, running streams break
 * sender.faults.restore(); // waitForConnectivity resolves
 */
export class Faults {
  private latency = 0;
  private throttle = 0;
  private streamFailure:
    { bytes: number; failure: StreamFailure; filesystem: string | undefined } | undefined;
  private streamStall: { bytes: number; filesystem: string | undefined } | undefined;
  private readonly vanishing = new Map<string, (snapshot: string) => void>();
  private isDropped = false;
  private readonly nextFailures = new Map<EndpointMethod, unknown[]>();
  private readonly dropListeners = new Set<(err: Error) => void>();
  private readonly restoreListeners = new Set<() => void>();

  /** Every call waits `ms` first (0: none). */
  setLatency(ms: number): void {
    this.latency = Math.max(0, ms);
  }

  /** Streams move at most `bytesPerSecond` (0: unlimited); read per chunk, so it applies at once. */
  setThrottle(bytesPerSecond: number): void {
    this.throttle = Math.max(0, bytesPerSecond);
  }

  get latencyMs(): number {
    return this.latency;
  }

  get throttleBytesPerSecond(): number {
    return this.throttle;
  }

  /**
   * The next stream (a send's, or a receive's input) breaks after `bytes` bytes; one-shot.
   * With `filesystem`, the next stream of that filesystem (as the endpoint names it): the
   * connection drops for one filesystem's transfer while the others go on.
   */
  failAfterBytes(
    bytes: number,
    failure: StreamFailure = 'econnreset',
    options: { filesystem?: string } = {},
  ): void {
    this.streamFailure = { bytes: Math.max(0, bytes), failure, filesystem: options.filesystem };
  }

  /**
   * The next stream (of `filesystem`, if given) stops sending after `bytes` bytes and stays
   * open, as a hung peer would, until it is destroyed or its signal aborts; one-shot. Only a
   * stall watch (D15) or a cancellation ends such a transfer.
   */
  stallAfterBytes(bytes: number, options: { filesystem?: string } = {}): void {
    this.streamStall = { bytes: Math.max(0, bytes), filesystem: options.filesystem };
  }

  /**
   * The next `send` of `filesystem` finds the snapshot it was asked for destroyed, as a
   * `zfs destroy` between planning and the step would leave it (D13); one-shot. Sender only.
   * `onVanished` hears the snapshot's name when it is destroyed.
   */
  vanishBeforeSend(filesystem: string, onVanished: (snapshot: string) => void = () => {}): void {
    this.vanishing.set(filesystem, onVanished);
  }

  /** The next call of `method` rejects with `err`; calls queue up in order. */
  failNext(method: EndpointMethod, err: unknown): void {
    const queue = this.nextFailures.get(method) ?? [];
    queue.push(err);
    this.nextFailures.set(method, queue);
  }

  /** Drops the connection: calls reject with UNAVAILABLE and running streams break, until `restore()`. */
  drop(): void {
    this.isDropped = true;
    for (const listener of [...this.dropListeners]) listener(unavailableError());
  }

  /** Ends a `drop()`; pending `waitForConnectivity` calls resolve. */
  restore(): void {
    this.isDropped = false;
    for (const listener of [...this.restoreListeners]) listener();
  }

  get dropped(): boolean {
    return this.isDropped;
  }

  /** Clears every fault. */
  reset(): void {
    this.latency = 0;
    this.throttle = 0;
    this.streamFailure = undefined;
    this.streamStall = undefined;
    this.vanishing.clear();
    this.nextFailures.clear();
    this.restore();
  }

  /**
   * @internal The gate every call passes: latency, then an injected failure, then the drop,
   * which rejects with UNAVAILABLE, or with `whenDropped: 'wait'` waits for `restore()`.
   */
  async enter(
    method: EndpointMethod,
    signal: AbortSignal,
    whenDropped: 'reject' | 'wait' = 'reject',
  ): Promise<void> {
    signal.throwIfAborted();
    await delay(this.latency, signal);
    const queue = this.nextFailures.get(method);
    if (queue && queue.length > 0) {
      const err = queue.shift();
      if (queue.length === 0) this.nextFailures.delete(method);
      throw err;
    }
    if (this.isDropped) {
      if (whenDropped === 'reject') throw unavailableError();
      await this.whenRestored(signal);
    }
  }

  /**
   * @internal Claims the pending stream failure for a new stream of `filesystem`: its byte
   * budget and error.
   */
  takeStreamFailure(filesystem: string): { bytes: number; error: () => Error } | undefined {
    const claimed = this.streamFailure;
    if (!claimed || !applies(claimed.filesystem, filesystem)) return undefined;
    this.streamFailure = undefined;
    return { bytes: claimed.bytes, error: () => failureError(claimed.failure, claimed.bytes) };
  }

  /** @internal Claims the pending stall for a new stream of `filesystem`: bytes before it stops. */
  takeStreamStall(filesystem: string): number | undefined {
    const claimed = this.streamStall;
    if (!claimed || !applies(claimed.filesystem, filesystem)) return undefined;
    this.streamStall = undefined;
    return claimed.bytes;
  }

  /** @internal Whether the snapshot of this `send` of `filesystem` is to vanish first: who to tell. */
  takeVanish(filesystem: string): ((snapshot: string) => void) | undefined {
    const onVanished = this.vanishing.get(filesystem);
    this.vanishing.delete(filesystem);
    return onVanished;
  }

  /** @internal `listener` is called on `drop()`; returns the unsubscribe function. */
  onDrop(listener: (err: Error) => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  /** Resolves when not dropped (at once if not dropped now); abortable. */
  private whenRestored(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (!this.isDropped) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.restoreListeners.delete(done);
        signal.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = (): void => {
        this.restoreListeners.delete(done);
        reject(signal.reason);
      };
      this.restoreListeners.add(done);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }
}
