import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, controlRequest, serveControl } from '../../src/jobs/control.js';

describe('the control socket', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'xrepl-control-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('is mode 0600 and answers requests; errors come back as errors', async () => {
    const path = join(dir, 'control.sock');
    const control = await serveControl(path, (req) => {
      if (req.cmd === 'wakeup' && req.job === 'nope') throw new Error('no job named "nope"');
      return { echo: req };
    });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const signal = AbortSignal.timeout(10_000);
      await expect(controlRequest(path, { cmd: 'status' }, signal)).resolves.toEqual({
        echo: { cmd: 'status' },
      });
      await expect(controlRequest(path, { cmd: 'wakeup', job: 'nope' }, signal)).rejects.toThrow(
        'no job named "nope"',
      );
    } finally {
      await control.close();
    }
  });

  test('a missing daemon is named as such', async () => {
    await expect(
      controlRequest(join(dir, 'none.sock'), { cmd: 'status' }, AbortSignal.timeout(10_000)),
    ).rejects.toThrow(/cannot reach the daemon .*is xrepl daemon running/);
  });

  test('the lock refuses a second holder while the first lives, and takes over a dead one', () => {
    const path = join(dir, 'control.sock');
    const release = acquireLock(path);
    expect(() => acquireLock(path)).toThrow(`another xrepl daemon (pid ${process.pid})`);
    release();
    writeFileSync(`${path}.lock`, '999999999\n'); // no such process
    acquireLock(path)();
  });
});
