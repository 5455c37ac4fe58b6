/**
 * The bandwidth limit (`--bandwidth`): a token bucket shared by a run's streams, on the
 * simulated pool, with a clock and timers driven by hand (no real time passes).
 */
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import { replicate } from '../../src/index.js';
import { createPlanner } from '../../src/planner/index.js';
import { limitSender, parseBandwidth, TokenBucket } from '../../src/transport/bandwidth.js';
import { config } from '../helpers/driver.js';
import { fakeIO, run } from '../cli/helpers.js';
import { mismatches } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A clock and a timer queue that move only when `advance` is called. */
function manualTime() {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimer(fn: () => void, ms: number) {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return () => void timers.splice(timers.indexOf(timer), 1);
    },
    pending: () => timers.length,
    /** Moves to the next timer and runs it; false when none is set. */
    step(): boolean {
      timers.sort((a, b) => a.at - b.at);
      const next = timers.shift();
      if (next === undefined) return false;
      now = Math.max(now, next.at);
      next.fn();
      return true;
    },
  };
}

describe('bandwidth rates', () => {
  test.each([
    ['50MiB', 50 * MiB],
    ['800KiB', 800 * KiB],
    ['1.5GB', 1.5e9],
    ['2mb/s', 2e6],
    ['100000', 100000],
  ])('%s is %d bytes a second', (text, rate) => {
    expect(parseBandwidth(text)).toBe(rate);
  });

  test.each(['', 'fast', '10 parsecs', '-5MiB', '100'])('%j is refused', (text) => {
    expect(() => parseBandwidth(text)).toThrow(/bandwidth/);
  });

  test('replicate --bandwidth takes a rate and refuses nonsense with exit 2', async () => {
    const { code, io } = await run(
      ['replicate', '--from', 'memory:', '--to', 'memory:', '--bandwidth', 'fast'],
      fakeIO(),
    );
    expect(code).toBe(2);
    expect(io.err).toMatch(/--bandwidth: invalid bandwidth "fast"/);
  });
});

describe('the token bucket on the stream', () => {
  test('a replication of 4 MiB at 1 MiB/s takes 4 s of the injected clock, and arrives whole', async () => {
    const time = manualTime();
    const src = new MemoryPool({ seed: 'bw-src' });
    src.createDataset('tank/a');
    src.snapshot('tank/a', 's1', { size: 2 * MiB });
    src.createDataset('tank/b');
    src.snapshot('tank/b', 's1', { size: 2 * MiB });
    const dst = new MemoryPool({ seed: 'bw-dst' });
    const bucket = new TokenBucket({
      bytesPerSecond: MiB,
      burstBytes: 64 * KiB,
      now: time.now,
      setTimer: (fn, ms) => time.setTimer(fn, ms),
    });
    const planner = createPlanner(
      limitSender(memorySender(src, 'tank'), bucket),
      memoryReceiver(dst, 'backup'),
      {
        initial: 'all',
      },
    );
    // Both streams at once share the one bucket: the run's rate, not each stream's.
    const replication = replicate(config({ stepQueueConcurrency: 2, maxAttempts: 1 }), planner);
    let done = false;
    const finished = replication.wait().then((report) => {
      done = true;
      return report;
    });
    let maxGapMs = 0;
    let last = 0;
    while (!done) {
      // Let the streams run until they wait on the bucket, then move the clock to its timer.
      await new Promise((resolve) => setImmediate(resolve));
      if (time.pending() > 0) {
        time.step();
        maxGapMs = Math.max(maxGapMs, time.now() - last);
        last = time.now();
      }
    }
    const report = await finished;
    expect(report.state).toBe('done');
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
    // 4 MiB and the two stream headers, at 1 MiB/s, less the first burst.
    const bytes = report.attempts[0]!.filesystems.reduce(
      (n, fs) => n + fs.steps.reduce((m, s) => m + s.info.bytesReplicated, 0),
      0,
    );
    const expectedMs = ((bytes - 64 * KiB) / MiB) * 1000;
    expect(time.now()).toBeGreaterThanOrEqual(expectedMs - 2);
    expect(time.now()).toBeLessThanOrEqual(expectedMs + 100);
    // Pieces wait at most one burst's time.
    expect(maxGapMs).toBeLessThanOrEqual(Math.ceil((64 * KiB * 1000) / MiB) + 1);
  });
});
