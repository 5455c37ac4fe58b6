/**
 * Snapshot hooks (`{ type: command, path, timeout, err_is_fatal }`): run before and after a
 * snapshot run with the job, the snapshot name and the datasets in the environment. A hook
 * that fails or outlives its timeout is killed; with `err_is_fatal` the snapshot run fails.
 */
import { spawn } from 'node:child_process';
import { durationMs } from './duration.js';

export interface HookConfig {
  type: 'command';
  path: string;
  timeout: string;
  err_is_fatal: boolean;
}

export interface HookEnv {
  job: string;
  phase: 'pre' | 'post';
  snapshot: string;
  datasets: readonly string[];
}

/** Runs one hook; rejects when it exits non-zero, is killed, or times out. */
export function runHook(hook: HookConfig, env: HookEnv, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  const timeoutMs = durationMs(hook.timeout) ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(hook.path, [], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        XREPL_JOB: env.job,
        XREPL_HOOK_PHASE: env.phase,
        XREPL_SNAPSHOT: env.snapshot,
        XREPL_DATASETS: env.datasets.join('\n'),
      },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
    let why: string | undefined;
    const kill = (reason: string): void => {
      why ??= reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`timed out after ${hook.timeout}`), timeoutMs);
    const onAbort = (): void => kill('cancelled');
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (err: Error | undefined): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    child.on('error', (err) =>
      done(new Error(`hook ${hook.path}: ${err.message}`, { cause: err })),
    );
    child.on('close', (code, sig) => {
      if (code === 0 && why === undefined) return done(undefined);
      const what = why ?? (code !== null ? `exit ${code}` : `killed by ${sig}`);
      done(
        new Error(`${env.phase} hook ${hook.path}: ${what}${stderr ? `: ${stderr.trim()}` : ''}`),
      );
    });
  });
}
