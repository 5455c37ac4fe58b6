/** Bad arguments: exit 2 and one clear line on stderr, no stack trace, nothing on stdout. */
import { writeFileSync } from 'node:fs';
import { lines, run, tempDir } from './helpers.js';

const replicate = (...more: string[]): string[] => [
  'replicate',
  '--from',
  'memory:',
  '--to',
  'memory:',
  ...more,
];

describe('bad arguments exit 2 with one line', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  test.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['replicate', '--to', 'memory:'], /required option '--from <endpoint>' not specified/],
    [replicate('--bogus'), /unknown option '--bogus'/],
    [
      ['replicate', '--from', 'ftp://host/tank', '--to', 'memory:'],
      /endpoint "ftp:\/\/host\/tank" has unknown scheme "ftp:" \(known: memory:, zfs:.*\)/,
    ],
    [
      ['replicate', '--from', 'tank/data', '--to', 'memory:'],
      /endpoint "tank\/data" has no scheme/,
    ],
    [['replicate', '--from', 'zfs:', '--to', 'memory:'], /zfs: endpoint needs a root dataset/],
    [['replicate', '--from', 'zfs:/tank', '--to', 'memory:'], /leading "\/"/],
    [replicate('--concurrency', '0'), /--concurrency takes an integer >= 1 \(got "0"\)/],
    [replicate('--concurrency', '2.5'), /--concurrency takes an integer >= 1/],
    [replicate('--max-attempts', '0'), /--max-attempts takes an integer >= 1 \(or -1\)/],
    [
      replicate('--reconnect-timeout', '30'),
      /--reconnect-timeout takes a positive duration with a unit, e\.g\. 30s/,
    ],
    [replicate('--reconnect-timeout', '0s'), /positive duration/],
    // A deadline past what a Date holds used to crash with "RangeError: Invalid time value".
    [
      replicate('--reconnect-timeout', '99999999999h'),
      /--reconnect-timeout takes at most 36500d \(100 years\) \(got "99999999999h"\)/,
    ],
    [replicate('--reconnect-timeout', '36500d1ms'), /takes at most 36500d/],
    [replicate('--reconnect-timeout', `${'9'.repeat(400)}s`), /takes at most 36500d/],
    [replicate('--replan-limit', '-1'), /--replan-limit takes an integer >= 0 \(got "-1"\)/],
    [replicate('--fs-retries', 'two'), /--fs-retries takes an integer >= 0 \(got "two"\)/],
    [replicate('--stall-timeout', '10'), /--stall-timeout takes a positive duration with a unit/],
    [
      replicate('--on-stale-resume-token', 'drop'),
      /--on-stale-resume-token takes fail or clear \(got "drop"\)/,
    ],
    [
      replicate('--initial', 'newest'),
      /--initial takes one of most-recent, all, fail \(got "newest"\)/,
    ],
    [
      replicate('--on-stale-resume-token', 'keep'),
      /--on-stale-resume-token takes fail or clear \(got "keep"\)/,
    ],
    [replicate('--job', 'a b'), /--job: use 1 to 64 letters/],
    [replicate('--recv-set', 'canmount'), /--recv-set takes PROPERTY=VALUE/],
    [replicate('--raw', '--send-decrypted'), /--raw and --send-decrypted contradict/],
    [replicate('--compressed'), /send options apply to a zfs: sender only, not to "memory:"/],
    [
      replicate('--recv-exclude', 'mountpoint'),
      /--recv-set\/--recv-exclude apply to a zfs: receiver only/,
    ],
    [replicate('--visualize', '70000'), /--visualize takes a port from 0 to 65535/],
    [replicate('--log-level', 'loud'), /--log-level takes one of fatal, error, warn/],
    [
      ['replicate', '--from', 'memory:/nonexistent/pool.json', '--to', 'memory:'],
      /cannot read memory pool fixture \/nonexistent\/pool\.json/,
    ],
    [
      ['replicate', '--from', 'memory:?depth=3', '--to', 'memory:'],
      /memory: endpoint has no option "depth"/,
    ],
    [['visualize', '--port', 'x'], /--port takes a port from 0 to 65535 \(got "x"\)/],
  ])('%j', async (argv, message) => {
    const { code, io } = await run(argv);
    expect(code).toBe(2);
    expect(lines(io.err)).toHaveLength(1);
    expect(io.err).toMatch(message);
    expect(io.err).toMatch(/^error: /);
    expect(io.err).not.toMatch(/\n\s+at /);
    expect(io.out).toBe('');
  });

  test('an invalid fixture names the file and every issue', async () => {
    const file = tmp.file('bad.json');
    writeFileSync(file, '{"datasets": [{"path": 5}], "extra": 1}');
    const { code, io } = await run(['replicate', '--from', `memory:${file}`, '--to', 'memory:']);
    expect(code).toBe(2);
    expect(lines(io.err)[0]).toBe(`error: ${file}: invalid memory pool fixture:`);
    expect(io.err).toMatch(/datasets\.0\.path/);
  });

  test('no command prints the usage on stderr and exits 2', async () => {
    const { code, io } = await run([]);
    expect(code).toBe(2);
    expect(io.err).toMatch(/Usage: xrepl \[options\] \[command\]/);
  });

  test('--help exits 0 and lists the endpoint schemes', async () => {
    const { code, io } = await run(['replicate', '--help']);
    expect(code).toBe(0);
    expect(io.out).toMatch(/--reconnect-timeout <duration>/);
    expect(io.out).toMatch(/--replan-limit <n> .*\(default: 3\)/s);
    expect(io.out).toMatch(/--fs-retries <n> .*\(default: 2\)/s);
    expect(io.out).toMatch(/--stall-timeout <duration> .*\(default: 10m\)/s);
    expect(io.out).toMatch(/memory:\[FIXTURE\.json\]/);
    expect(io.out).toMatch(/zfs:ROOT/);
  });
});
