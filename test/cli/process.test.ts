/** The built `xrepl` as a child process: exit codes and a real SIGINT. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryPool } from '../../src/endpoints/memory/index.js';
import { buildCli, type BuiltCli } from './build.js';

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onStdout` sees the output so far and may signal the child. */
function xrepl(
  cli: BuiltCli,
  args: string[],
  onStdout: (text: string, child: ReturnType<typeof spawn>) => void = () => {},
): Promise<Finished> {
  const child = spawn(process.execPath, [cli.main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    onStdout(stdout, child);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('xrepl as a process', () => {
  let cli: BuiltCli;
  beforeAll(() => {
    cli = buildCli();
  }, 120_000);
  afterAll(() => cli?.remove());

  test('demo --fast exits 0 with the guids verified', async () => {
    const result = await xrepl(cli, ['demo', '--fast']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^verified: the receiver has the sender's snapshot guids/m);
  });

  test('bad arguments: exit 2, one line on stderr', async () => {
    const result = await xrepl(cli, ['replicate', '--from', 'nfs:tank', '--to', 'memory:']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error: endpoint "nfs:tank" has unknown scheme "nfs:" \(known: memory:, zfs:.*\)\n$/,
    );
  });

  test('SIGINT during a run stops it cleanly: cancelled, exit 130', async () => {
    let sent = false;
    const result = await xrepl(cli, ['demo'], (stdout, child) => {
      // The first line is printed once Ctrl-C is handled; the demo runs for seconds after it.
      if (!sent && stdout.includes('\n')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/^interrupted: stopping cleanly/m);
    expect(result.stdout).toMatch(/^cancelled: \d+ filesystems?, /m);
  });

  test('SIGTERM stops a memory receiver cleanly: its fixture is saved, exit 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xrepl-sigterm-'));
    const fixture = join(dir, 'received.json');
    try {
      let sent = false;
      const result = await xrepl(
        cli,
        ['serve', '--listen', '127.0.0.1:0', '--role', 'receiver', '--memory', fixture],
        (stdout, child) => {
          if (!sent && /serving a receiver at/.test(stdout)) {
            sent = true;
            child.kill('SIGTERM');
          }
        },
      );
      expect(result.code).toBe(130);
      expect(existsSync(fixture)).toBe(true);
      expect(() => MemoryPool.fromFixture(readFileSync(fixture, 'utf8'))).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
