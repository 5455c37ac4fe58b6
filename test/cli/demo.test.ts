/**
 * `xrepl demo --fast` in-process: a snapshot that vanishes after planning (its filesystem
 * re-plans, D13), a dropped connection, a second attempt, guids verified.
 */
import { demoPools, guidMismatches, RECEIVER_ROOT } from '../../src/cli/demo-pools.js';
import { fakeIO, lines, run } from './helpers.js';

describe('xrepl demo', () => {
  test('--fast: a re-plan, the drop costs one attempt, the run ends done, the receiver has the sender guids', async () => {
    const { code, io } = await run(['demo', '--fast']);
    expect(code).toBe(0);
    const out = lines(io.out);
    expect(out[0]).toMatch(
      /^xrepl demo: 42 datasets below tank -> backup\/host1, 5 snapshots each/,
    );
    expect(out).toContain(
      '>> injected fault: tank/srv/www@auto-202406010800 is destroyed on the sender after planning; srv/www re-plans without it',
    );
    expect(out).toContainEqual(
      expect.stringMatching(/^>> injected fault: the receiver's connection drops after/),
    );
    expect(out).toContain('attempt 2: done');
    // 147 snapshots to send, one of which vanished before it was sent.
    expect(out).toContainEqual(
      expect.stringMatching(/^done: 42 filesystems, 146 snapshots received, .* \(2 attempts\)$/),
    );
    expect(out.at(-1)).toBe(
      "verified: the receiver has the sender's snapshot guids for all 42 datasets",
    );
    expect(io.timers()).toBe(0);
  });

  test('the pools: some datasets start incremental, the rest from nothing', () => {
    const pools = demoPools({ unit: 1024 });
    expect(pools.datasets.length).toBeGreaterThanOrEqual(36);
    expect(Math.max(...pools.datasets.map((p) => p.split('/').length))).toBe(4);
    expect(pools.incremental).toContain('home/alice/projects/xrepl');
    expect(pools.receiver.get(`${RECEIVER_ROOT}/home/alice`)?.snapshots).toHaveLength(3);
    expect(pools.receiver.get(`${RECEIVER_ROOT}/vm/debian/disk0`)).toBeUndefined();
    expect(guidMismatches(pools)).toContain('vm/debian/disk0');
  });

  test('--visualize prints the URL and keeps serving until Ctrl-C', async () => {
    const io = fakeIO();
    const running = run(['demo', '--fast', '--visualize', '0'], io);
    await io.waitFor(/press Ctrl-C to exit/);
    expect(io.out).toMatch(/^visualizer: http:\/\/127\.0\.0\.1:\d+\/$/m);
    io.interrupt();
    expect((await running).code).toBe(0);
  });
});
