import { getEventListeners } from 'node:events';
import { createZfsExec, isDatasetMissing, ZfsError } from '../../../src/endpoints/zfs/index.js';

// /bin/sh stands in for zfs: `zfs -c '<script>'` runs the script, a real child process.
const exec = createZfsExec({ zfsPath: '/bin/sh', zpoolPath: '/bin/sh' });
const never = new AbortController().signal;

describe('running zfs', () => {
  test('stdout of a successful command', async () => {
    await expect(exec.run('zfs', ['-c', 'printf "tank\\n"'], never)).resolves.toEqual({
      stdout: 'tank\n',
      stderr: '',
    });
  });

  test('arguments reach the program verbatim, no shell in between', async () => {
    const hostile = "a b; rm -rf / $(whoami) 'q'";
    const { stdout } = await exec.run('zfs', ['-c', 'printf "%s" "$1"', 'sh', hostile], never);
    expect(stdout).toBe(hostile);
  });

  test("a failure carries command, exit code and stderr; the message has stderr's first line", async () => {
    const failure = exec.run(
      'zfs',
      [
        '-c',
        'echo "cannot open \'tank/x\': dataset does not exist" >&2; echo "usage: ..." >&2; exit 1',
      ],
      never,
    );
    await expect(failure).rejects.toBeInstanceOf(ZfsError);
    const err = (await failure.catch((e: unknown) => e)) as ZfsError;
    expect(err.command[0]).toBe('zfs');
    expect(err.exitCode).toBe(1);
    expect(err.stderr).toContain('usage: ...');
    expect(err.message).toMatch(/exit code 1: cannot open 'tank\/x': dataset does not exist/);
    expect(isDatasetMissing(err)).toBe(true);
  });

  test('abort kills the child, rejects with the reason, and leaves no listener behind', async () => {
    const controller = new AbortController();
    const running = exec.run('zfs', ['-c', 'echo started; exec sleep 30'], controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    const reason = new Error('cancelled by test');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('the listener is removed after a normal completion too', async () => {
    const controller = new AbortController();
    await exec.run('zfs', ['-c', 'true'], controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('an already aborted signal spawns nothing', async () => {
    const controller = new AbortController();
    controller.abort(new Error('early'));
    await expect(exec.run('zfs', ['-c', 'exit 0'], controller.signal)).rejects.toThrow('early');
  });

  test('a missing binary is a clear error naming it', async () => {
    const missing = createZfsExec({ zfsPath: '/nonexistent/zfs' });
    await expect(missing.run('zfs', ['list'], never)).rejects.toThrow(
      /cannot run \/nonexistent\/zfs: .*ENOENT.*is ZFS installed, or is zfsPath wrong\?/,
    );
  });

  test('start: a streaming child with piped stdin and stdout, exit reported', async () => {
    const proc = exec.start('zfs', ['-c', 'tr a-z A-Z; echo done >&2; exit 3']);
    await proc.spawned;
    proc.stdin.end('hello');
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => (out += chunk));
    await expect(proc.exited).resolves.toEqual({ exitCode: 3, signal: null, stderr: 'done\n' });
    expect(out).toBe('HELLO');
    expect(proc.hasExited()).toBe(true);
  });

  test('start: a binary that cannot start rejects spawned and exited', async () => {
    const proc = createZfsExec({ zfsPath: '/nonexistent/zfs' }).start('zfs', ['send', 'x@y']);
    await expect(proc.spawned).rejects.toThrow(/cannot run \/nonexistent\/zfs/);
    await expect(proc.exited).rejects.toThrow(/cannot run/);
  });
});
