/**
 * The control socket (JOBS.md): a Unix socket, mode 0600, one JSON request a connection
 * (`{"cmd":"status"}`, `{"cmd":"wakeup","job":"x"}`, `{"cmd":"reset","job":"x"}`) and one
 * JSON answer (`{"ok":true,"result":...}` or `{"ok":false,"error":"..."}`). A lock file next
 * to it keeps a second daemon of the same config from starting.
 */
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';

export type ControlRequest =
  { cmd: 'status' } | { cmd: 'wakeup'; job: string } | { cmd: 'reset'; job: string };

export type ControlHandler = (request: ControlRequest) => unknown;

/** The longest request accepted (a request is a few dozen bytes). */
const MAX_REQUEST = 4096;

function parseRequest(line: string): ControlRequest {
  const value = JSON.parse(line) as Record<string, unknown>;
  if (value.cmd === 'status') return { cmd: 'status' };
  if ((value.cmd === 'wakeup' || value.cmd === 'reset') && typeof value.job === 'string') {
    return { cmd: value.cmd, job: value.job };
  }
  throw new Error(`unknown request ${JSON.stringify(line.slice(0, 200))}`);
}

/** The lock of `socketPath`: created exclusively; a lock of a dead process is taken over. */
export function acquireLock(socketPath: string): () => void {
  const lock = `${socketPath}.lock`;
  mkdirSync(dirname(lock), { recursive: true, mode: 0o700 });
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new Error(
          `another xrepl daemon (pid ${pid}) runs with control socket ${socketPath} (lock ${lock})`,
        );
      }
      rmSync(lock, { force: true }); // left by a daemon that died
    }
  }
  throw new Error(`cannot take the lock ${lock}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Listens on `socketPath` (mode 0600; a stale socket file is replaced: the lock is ours). */
export async function serveControl(
  socketPath: string,
  handler: ControlHandler,
): Promise<{ server: Server; close(): Promise<void> }> {
  rmSync(socketPath, { force: true });
  const server = createServer((conn) => {
    let buffer = '';
    conn.setEncoding('utf8');
    conn.on('error', () => conn.destroy());
    conn.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST) return conn.destroy();
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      let answer: unknown;
      try {
        answer = { ok: true, result: handler(parseRequest(buffer.slice(0, nl))) };
      } catch (err) {
        answer = { ok: false, error: (err as Error).message };
      }
      conn.end(`${JSON.stringify(answer)}\n`);
    });
  });
  const previous = process.umask(0o177); // the socket is created 0600, never wider
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(socketPath, 0o600);
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          rmSync(socketPath, { force: true });
          resolve();
        });
      }),
  };
}

/** Sends one request and resolves with the daemon's result, or rejects with its error. */
export function controlRequest(
  socketPath: string,
  request: ControlRequest,
  signal: AbortSignal,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const conn = createConnection(socketPath);
    let text = '';
    const onAbort = (): void => {
      conn.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(request)}\n`));
    conn.on('data', (chunk: string) => (text += chunk));
    conn.on('error', (err: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      const hint =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? ' (is xrepl daemon running with this config?)'
          : '';
      reject(new Error(`cannot reach the daemon at ${socketPath}: ${err.message}${hint}`));
    });
    conn.on('end', () => {
      signal.removeEventListener('abort', onAbort);
      try {
        const answer = JSON.parse(text) as { ok: boolean; result?: unknown; error?: string };
        if (answer.ok) resolve(answer.result);
        else reject(new Error(answer.error ?? 'the daemon refused the request'));
      } catch {
        reject(new Error(`the daemon answered ${JSON.stringify(text.slice(0, 200))}`));
      }
    });
  });
}
