/**
 * The client endpoint `ssh://[user@]host[:port]/ROOT`: a Sender or a Receiver whose calls go
 * to `xrepl stdio` on another machine, run by OpenSSH (no listening port there; a forced
 * command in `authorized_keys` can pin the key to xrepl and one root, see the README). The
 * protocol is the data connection's (data/): the same requests, schemas, error classes,
 * heartbeats and stream framing as `xrepl serve`'s data connections. Each ssh session serves
 * one call at a time; idle sessions are kept for the next calls.
 */
import type { Readable } from 'node:stream';
import type { ReceiveReq, SendReq } from '../../endpoints/types.js';
import { DataClient } from '../data/client.js';
import {
  reconnectOf,
  RemoteReceiver,
  RemoteSender,
  type Reconnect,
  type RemoteClientOptions,
  type RemoteConnection,
  type RequestOp,
  type Role,
} from '../remote.js';
import { dialSsh, type SshDialOptions } from './dial.js';
import { parseSshUrl, type SshTarget } from './url.js';

/**
 * Options of `sshSender` and `sshReceiver`; durations in milliseconds. Defaults: each call
 * without a stream 60 s (it may include ssh's handshake), a stream's idle timeout 60 s,
 * heartbeats asked of the remote every 20 s and lost after 10 s more, reconnecting after
 * 500 ms, doubling up to 10 s.
 */
export interface SshClientOptions extends SshDialOptions, RemoteClientOptions {}

/** The ssh sessions of one endpoint, each serving one call at a time. */
class SshConnection implements RemoteConnection<Promise<void>> {
  readonly address: string;
  readonly reconnect: Reconnect;
  private readonly client: DataClient;
  private readonly target: SshTarget;

  constructor(url: string, role: Role, options: SshClientOptions) {
    this.target = parseSshUrl(url);
    if (this.target.role !== undefined && this.target.role !== role) {
      throw new Error(
        `${this.target.address} is marked role=${this.target.role} but is used as the ${role}`,
      );
    }
    this.address = this.target.address;
    this.reconnect = reconnectOf(options, { initialDelayMs: 500, maxDelayMs: 10_000 });
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

  request(op: RequestOp, req: unknown, signal: AbortSignal): Promise<unknown> {
    return this.client.call(op, req, signal);
  }

  send(req: SendReq, signal: AbortSignal): Promise<{ usedResumeToken: boolean; stream: Readable }> {
    return this.client.send(req, signal);
  }

  receive(req: ReceiveReq, stream: Readable, signal: AbortSignal): Promise<void> {
    return this.client.receive(req, stream, signal);
  }

  /** Each retry dials a new ssh session anyway. */
  retrying(): void {}

  wrongRole(served: Role, expected: Role): string {
    return (
      `${this.address} runs a ${served}, not a ${expected} (check the forced command ` +
      'of its authorized_keys entry)'
    );
  }

  /** Ends every ssh session (idle ones cleanly, running ones at once); resolves when they have. */
  close(): Promise<void> {
    return this.client.close();
  }
}

/** The Sender of `ssh://host/ROOT` (`xrepl stdio --role sender` on the remote). */
export class SshSender extends RemoteSender<Promise<void>> {
  constructor(url: string, options: SshClientOptions = {}) {
    super(new SshConnection(url, 'sender', options));
  }
}

/** The Receiver of `ssh://host/ROOT` (`xrepl stdio --role receiver` on the remote). */
export class SshReceiver extends RemoteReceiver<Promise<void>> {
  constructor(url: string, options: SshClientOptions = {}) {
    super(new SshConnection(url, 'receiver', options));
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
