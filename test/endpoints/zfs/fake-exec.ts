/**
 * A ZfsExec that records every argv. `run` answers from a responder; `start` runs a small
 * shell script standing in for `zfs send`/`zfs recv` (a real process, so kills and pipes are
 * real), while `command` shows the argv the backend asked for.
 */
import { createZfsExec, ZfsError } from '../../../src/endpoints/zfs/index.js';
import type { ZfsExec, ZfsProcess, ZfsProgram } from '../../../src/endpoints/zfs/index.js';
import type { FilesystemVersion } from '../../../src/endpoints/types.js';

/** A signal that never aborts. */
export const never = new AbortController().signal;

/** A version named `name` (guid and txg do not matter to argv building). */
export function snap(
  name: string,
  type: FilesystemVersion['type'] = 'snapshot',
): FilesystemVersion {
  return { type, name, guid: '18446744073709551615', createTxg: '10', creation: new Date(0) };
}

export interface FakeCall {
  program: ZfsProgram;
  args: string[];
  /** `run` (to completion) or `start` (streaming). */
  kind: 'run' | 'start';
}

export interface FakeAnswer {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
}

export interface FakeExec extends ZfsExec {
  calls: FakeCall[];
  /** The processes `start` made, in order. */
  processes: ZfsProcess[];
  /** The argv of each call joined by spaces, e.g. `zfs recv -u b/a@s1`. */
  commands(): string[];
}

const shell = createZfsExec({ zfsPath: '/bin/sh', zpoolPath: '/bin/sh' });

/**
 * `respond` answers `run`; `script` gives the sh script a `start` runs (default: swallow stdin
 * and exit 0).
 */
export function fakeExec(
  respond: (program: ZfsProgram, args: string[]) => FakeAnswer = () => ({}),
  script: (program: ZfsProgram, args: string[]) => string = () => 'cat > /dev/null',
): FakeExec {
  const calls: FakeCall[] = [];
  const processes: ZfsProcess[] = [];
  return {
    calls,
    processes,
    commands: () => calls.map((c) => [c.program, ...c.args].join(' ')),
    async run(program, args, signal) {
      signal.throwIfAborted();
      calls.push({ program, args: [...args], kind: 'run' });
      const answer = respond(program, [...args]);
      const exitCode = answer.exitCode ?? 0;
      const stderr = answer.stderr ?? '';
      if (exitCode !== 0) {
        throw new ZfsError([program, ...args], { exitCode, signal: null, stderr });
      }
      return { stdout: answer.stdout ?? '', stderr };
    },
    start(program, args) {
      calls.push({ program, args: [...args], kind: 'start' });
      const proc: ZfsProcess = shell.start('zfs', ['-c', script(program, [...args])]);
      const fake: ZfsProcess = {
        command: [program, ...args],
        stdin: proc.stdin,
        stdout: proc.stdout,
        spawned: proc.spawned,
        exited: proc.exited,
        hasExited: () => proc.hasExited(),
        kill: (sig) => proc.kill(sig),
      };
      processes.push(fake);
      return fake;
    },
  };
}

/** `zfs get -Hp ... -r <dataset>` output for a missing dataset: exit 1, zfs's words. */
export function missing(dataset: string): FakeAnswer {
  return { exitCode: 1, stderr: `cannot open '${dataset}': dataset does not exist\n` };
}
