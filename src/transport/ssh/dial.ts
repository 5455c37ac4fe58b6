/**
 * One ssh session: `ssh -o BatchMode=yes host xrepl stdio ...` as a child process whose
 * stdin and stdout are a data connection (data/channel.ts). What ssh says on stderr explains
 * a failure: a refused key or an unknown host key is permanent (no retry fixes it), a lost
 * connection temporary (the driver waits and retries, D2).
 */
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { connectionFailure } from '../errors.js';
import { reasonOf } from '../streams.js';
import { FrameChannel } from '../data/channel.js';
import type { Dialed } from '../data/client.js';
import { sshArguments, type SshTarget } from './url.js';

/** ssh's words for what no retry cures. */
const PERMANENT =
  /Permission denied|Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|no such identity|Bad configuration option|Too many authentication failures|command not found|No such file or directory/i;

/** A failure of ssh or of the remote command that a retry would meet again. */
export class SshError extends Error {
  override readonly name = 'SshError';
}

export interface SshDialOptions {
  /** The ssh program (default `ssh`). */
  ssh?: string;
}

/** Starts one ssh session for `role`; resolves once ssh runs. */
export function dialSsh(
  target: SshTarget,
  role: 'sender' | 'receiver',
  options: SshDialOptions,
  signal: AbortSignal,
): Promise<Dialed> {
  signal.throwIfAborted();
  const program = options.ssh ?? 'ssh';
  const child = spawn(program, sshArguments(target, role), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4096);
  });
  // The channel's input ends only once ssh has exited, so that its exit status and its last
  // words are known when a failure is explained.
  const input = new PassThrough({ highWaterMark: 1024 * 1024 });
  child.stdout.pipe(input, { end: false });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  child.once('close', (code, sig) => {
    exit = { code, signal: sig };
    input.end();
  });
  child.stdin.on('error', () => undefined); // EPIPE after ssh exited: the close explains it
  const channel = new FrameChannel(input, child.stdin, (err) => {
    child.stdin.destroy();
    if (exit === undefined) child.kill('SIGTERM');
    input.destroy(err);
  });
  const said = (): string =>
    stderr
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('Warning: Permanently added'))
      .join('; ');
  const explain = (err: Error | undefined, what: string): unknown => {
    const where = `${target.address}: ${what}`;
    if (spawnError !== undefined) {
      return new SshError(`${where}: cannot run ${program}: ${spawnError.message}`, {
        cause: spawnError,
      });
    }
    const words = said();
    if (exit !== undefined && exit.code !== 0 && exit.code !== null) {
      if (exit.code === 127 || PERMANENT.test(words)) {
        return new SshError(`${where}: ssh failed (exit ${exit.code}): ${words || 'no message'}`);
      }
      if (exit.code !== 255) {
        // The remote xrepl refused its arguments or failed to start: it would again.
        return new SshError(`${where}: the remote xrepl exited with ${exit.code}: ${words}`);
      }
    }
    const why = words !== '' ? words : (err?.message ?? 'the ssh session ended');
    return connectionFailure(new Error(why, { cause: err }), target.address, what);
  };
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      child.kill('SIGTERM');
      reject(reasonOf(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('spawn', () => {
      signal.removeEventListener('abort', onAbort);
      resolve({ channel, explain });
    });
    child.once('error', (err) => {
      spawnError = err;
      signal.removeEventListener('abort', onAbort);
      input.end();
      reject(explain(err, 'connect'));
    });
  });
}
