/**
 * The client endpoint `ssh://[user@]host[:port]/ROOT`: a Sender or a Receiver whose calls go
 * to `xrepl stdio` on another machine, run by OpenSSH (no listening port there; a forced
 * command in `authorized_keys` can pin the key to xrepl and one root, see the README). The
 * protocol is the data connection's (data/): the same requests, schemas, error classes,
 * heartbeats and stream framing as `xrepl serve`'s data connections. Each ssh session serves
 * one call at a time; idle sessions are kept for the next calls.
 */
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type {
  DestroySnapshotsReq,
  DestroySnapshotsResult,
  EndpointFilesystem,
  FilesystemVersion,
  PrunableReceiver,
  ReceiveReq,
  SendReq,
  Sender,
} from '../../endpoints/types.js';
import { classifyError } from '../../errors/classify.js';
import { DataClient } from '../data/client.js';
import { reasonOf } from '../streams.js';
import {
  describeIssues,
  DestroySnapshotsResponseSchema,
  EmptySchema,
  ListFilesystemsResponseSchema,
  ListFilesystemVersionsResponseSchema,
  PingResponseSchema,
  SendDryResponseSchema,
  sendRequestToWire,
} from '../wire.js';
import { dialSsh, type SshDialOptions } from './dial.js';
import { parseSshUrl, type SshTarget } from './url.js';

/** Options of `sshSender` and `sshReceiver`; durations in milliseconds. */
export interface SshClientOptions extends SshDialOptions {
  /** Deadline of each call without a stream (default 60 s: it may include ssh's handshake). */
  callTimeoutMs?: number;
  /** A stream with no progress for this long fails (default 60 s). */
  streamIdleTimeoutMs?: number;
  /** Heartbeats asked of the remote every `keepaliveTimeMs` (20 s); lost after `+ keepaliveTimeoutMs` (10 s). */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /** `waitForConnectivity`: first retry delay (default 500 ms), doubling up to `maxDelayMs` (10 s). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  random?: () => number;
}

type Role = 'sender' | 'receiver';

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(reasonOf(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

class SshEndpoint {
  readonly address: string;
  protected readonly client: DataClient;
  private readonly target: SshTarget;

  constructor(
    url: string,
    private readonly role: Role,
    private readonly options: SshClientOptions,
  ) {
    this.target = parseSshUrl(url);
    if (this.target.role !== undefined && this.target.role !== role) {
      throw new Error(
        `${this.target.address} is marked role=${this.target.role} but is used as the ${role}`,
      );
    }
    this.address = this.target.address;
    this.client = new DataClient({
      address: this.address,
      dial: (signal) => dialSsh(this.target, role, options, signal),
      callTimeoutMs: options.callTimeoutMs ?? 60_000,
      idleMs: options.streamIdleTimeoutMs ?? 60_000,
      keepalive: {
        timeMs: options.keepaliveTimeMs ?? 20_000,
        timeoutMs: options.keepaliveTimeoutMs ?? 10_000,
      },
      keepIdle: 4,
    });
  }

  protected async call<S extends z.ZodType>(
    op: string,
    req: unknown,
    schema: S,
    signal: AbortSignal,
  ): Promise<z.output<S>> {
    const value = await this.client.call(op, req, signal);
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new Error(`${this.address}: invalid ${op} response: ${describeIssues(parsed.error)}`);
    }
    return parsed.data;
  }

  listFilesystems(signal: AbortSignal): Promise<EndpointFilesystem[]> {
    return this.call('listFilesystems', {}, ListFilesystemsResponseSchema, signal);
  }

  async listFilesystemVersions(fs: string, signal: AbortSignal): Promise<FilesystemVersion[]> {
    const res = await this.call(
      'listFilesystemVersions',
      { filesystem: fs },
      ListFilesystemVersionsResponseSchema,
      signal,
    );
    return res.versions;
  }

  /**
   * Resolves once the remote answers a ping as the expected role; a lost connection is
   * retried with backoff until `signal` aborts, a refused key or a wrong role fails at once.
   */
  async waitForConnectivity(signal: AbortSignal): Promise<void> {
    const initial = this.options.reconnect?.initialDelayMs ?? 500;
    const max = this.options.reconnect?.maxDelayMs ?? 10_000;
    const random = this.options.random ?? Math.random;
    for (let wait = initial; ; wait = Math.min(max, wait * 2)) {
      signal.throwIfAborted();
      try {
        const { role } = await this.call('ping', {}, PingResponseSchema, signal);
        const served = role === 'SENDER' ? 'sender' : 'receiver';
        if (served !== this.role) {
          throw new Error(
            `${this.address} runs a ${served}, not a ${this.role} (check the forced command ` +
              'of its authorized_keys entry)',
          );
        }
        return;
      } catch (err) {
        if (signal.aborted || classifyError(err) !== 'temporary-connectivity') throw err;
      }
      await delay(wait / 2 + (random() * wait) / 2, signal);
    }
  }

  /** Ends every ssh session (idle ones cleanly, running ones at once); resolves when they have. */
  close(): Promise<void> {
    return this.client.close();
  }
}

/** The Sender of `ssh://host/ROOT` (`xrepl stdio --role sender` on the remote). */
export class SshSender extends SshEndpoint implements Sender {
  constructor(url: string, options: SshClientOptions = {}) {
    super(url, 'sender', options);
  }

  sendDry(req: SendReq, signal: AbortSignal): Promise<{ expectedSize: number }> {
    return this.call('sendDry', sendRequestToWire(req), SendDryResponseSchema, signal);
  }

  async sendCompleted(req: SendReq, signal: AbortSignal): Promise<void> {
    await this.call('sendCompleted', sendRequestToWire(req), EmptySchema, signal);
  }

  send(req: SendReq, signal: AbortSignal): Promise<{ usedResumeToken: boolean; stream: Readable }> {
    return this.client.send(req, signal);
  }
}

/** The Receiver of `ssh://host/ROOT` (`xrepl stdio --role receiver` on the remote). */
export class SshReceiver extends SshEndpoint implements PrunableReceiver {
  constructor(url: string, options: SshClientOptions = {}) {
    super(url, 'receiver', options);
  }

  /** Asks the remote to destroy snapshots below its root (refused unless it allows it). */
  destroySnapshots(req: DestroySnapshotsReq, signal: AbortSignal): Promise<DestroySnapshotsResult> {
    return this.call('destroySnapshots', req, DestroySnapshotsResponseSchema, signal);
  }

  receive(req: ReceiveReq, stream: Readable, signal: AbortSignal): Promise<void> {
    return this.client.receive(req, stream, signal);
  }
}

/**
 * The Sender at `ssh://[user@]host[:port]/ROOT`. Call `close()` when done.
 *
 * @example
 * const sender = sshSender('ssh://root@tank.example/tank/data');
 * const planner = createPlanner(sender, zfsReceiver({ root: 'backup/tank' }));
 */
export function sshSender(url: string, options: SshClientOptions = {}): SshSender {
  return new SshSender(url, options);
}

/**
 * The Receiver at `ssh://[user@]host[:port]/ROOT`. Call `close()` when done.
 *
 * @example
 * const receiver = sshReceiver('ssh://backup@nas.example/backup/host1');
 */
export function sshReceiver(url: string, options: SshClientOptions = {}): SshReceiver {
  return new SshReceiver(url, options);
}
