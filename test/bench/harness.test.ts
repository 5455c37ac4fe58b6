/**
 * The benchmark harness (bench/): the baseline must follow the same rules as xrepl, or the
 * ratios in BENCHMARKS.md compare unlike things; the verdicts must follow the targets.
 */
import { replicateBaseline } from '../../bench/baseline.js';
import { compareOrders } from '../../bench/equivalence.js';
import type { OneResult } from '../../bench/one.js';
import { renderResults, type Outcome, type Suite } from '../../bench/render.js';
import { STEPS_PER_FS, Workload } from '../../bench/workload.js';
import { replicate } from '../../src/index.js';

describe('the plain baseline follows the same rules as xrepl', () => {
  test('at concurrency 1 both run the same plannings and steps in the same order', async () => {
    const eq = await compareOrders(400, 1);
    expect(eq).toEqual({
      n: 400,
      concurrency: 1,
      length: 400 * (1 + STEPS_PER_FS),
      firstDifference: null,
    });
  });

  test.each([
    ['a clean run', undefined],
    [
      'a run whose last step fails with ETIMEDOUT once, then a retry',
      { fs: 299, step: 2, times: 1 },
    ],
  ])('%s ends with the same report', async (_, fail) => {
    const config = { stepQueueConcurrency: 4, maxAttempts: 2, reconnectHardFailTimeoutMs: 60_000 };
    const now = () => new Date(1_700_000_000_000);
    const reports = [];
    for (const start of [replicate, replicateBaseline]) {
      const workload = new Workload(300, fail === undefined ? {} : { fail });
      reports.push(await start(config, workload, { now }).wait());
    }
    const [xrepl, baseline] = reports;
    expect(xrepl?.attempts).toHaveLength(fail === undefined ? 1 : 2);
    expect(baseline).toEqual(xrepl);
  });
});

const MiB = 2 ** 20;

/** A finished run with the values a target reads; everything else plausible. */
function run(impl: 'xrepl' | 'baseline', n: number, v: Partial<OneResult>, retry = false): Outcome {
  const result: OneResult = {
    impl,
    n,
    retry,
    wallMs: 1000,
    peakRssBytes: 100 * MiB,
    sampledPeakRssBytes: 100 * MiB,
    maxRssBytes: 100 * MiB,
    rssBeforeBytes: 50 * MiB,
    reportMidMs: 1,
    reportEndMs: 1,
    eventLoopMaxDelayMs: 1,
    eventLoopMaxGapMs: 1,
    attemptMs: retry ? [1000, 500] : [1000],
    betweenAttemptsMs: retry ? [10] : [],
    teardownMs: 5,
    orderHash: 0,
    stepCalls: n * STEPS_PER_FS,
    ...v,
  };
  return { impl, n, retry, loadavg: 1, result };
}

function suite(outcomes: Outcome[]): Suite {
  return {
    command: 'npm run bench',
    machine: { cores: 2, model: 'test', memoryGiB: 24, node: 'v20', platform: 'Linux' },
    begin: new Date(0),
    end: new Date(60_000),
    loadBefore: [1, 1, 1],
    loadAfter: [1, 1, 1],
    runs: outcomes.length,
    sizes: [10_000, 100_000],
    retrySize: 100_000,
    timeoutMin: 20,
    equivalence: { n: 1000, concurrency: 1, length: 4000, firstDifference: null },
    notes: [],
    outcomes,
  };
}

/** The verdict column of the target row that starts with `target`. */
function verdict(md: string, target: string): string {
  const line = md.split('\n').find((l) => l.startsWith(`| ${target}`));
  if (line === undefined) throw new Error(`no row ${target}`);
  return (/\*\*(\w+)\*\*/.exec(line) as RegExpExecArray)[1] as string;
}

describe('BENCHMARKS.md verdicts', () => {
  const passing = (): Outcome[] => [
    ...[1000, 1100, 900].map((w) =>
      run('baseline', 100_000, { wallMs: w, peakRssBytes: 400 * MiB }),
    ),
    ...[2000, 1900, 2100].map((w) => run('xrepl', 100_000, { wallMs: w, peakRssBytes: 600 * MiB })),
    run('baseline', 10_000, { wallMs: 100 }),
    run('xrepl', 10_000, { wallMs: 200 }),
    run('xrepl', 100_000, {}, true),
  ];

  test('medians at the limits pass', () => {
    const md = renderResults(suite(passing()));
    expect(verdict(md, '100k wall <= 2x baseline')).toBe('PASS'); // 2000 / 1000
    expect(verdict(md, '100k peak RSS')).toBe('PASS'); // 1.5x, 600 MiB
    expect(verdict(md, 'report() at 100k')).toBe('PASS');
    expect(verdict(md, 'retry attempt')).toBe('PASS'); // 0.5x
    expect(verdict(md, '100k point <= 12x')).toBe('PASS'); // 10x
    expect(md).toContain('| 100k wall <= 2x baseline | 2.00x |');
  });

  test('a median past a limit fails, and so does one slow run for the event loop', () => {
    const outcomes = passing();
    (outcomes[3]?.result as OneResult).wallMs = 2300; // xrepl median 2100 -> 2.1x
    (outcomes[4]?.result as OneResult).peakRssBytes = 1100 * MiB; // median 600: still fine
    (outcomes[5]?.result as OneResult).eventLoopMaxGapMs = 51; // the worst run counts
    const md = renderResults(suite(outcomes));
    expect(verdict(md, '100k wall <= 2x baseline')).toBe('FAIL');
    expect(verdict(md, '100k peak RSS')).toBe('PASS');
    expect(verdict(md, 'event loop never blocked')).toBe('FAIL');
  });

  test('1 GiB of RSS fails even within 1.5x of the baseline', () => {
    const outcomes = passing().map((o) =>
      o.n === 100_000 && !o.retry
        ? {
            ...o,
            result: {
              ...(o.result as OneResult),
              peakRssBytes: (o.impl === 'xrepl' ? 1024 : 800) * MiB,
            },
          }
        : o,
    );
    expect(verdict(renderResults(suite(outcomes)), '100k peak RSS')).toBe('FAIL');
  });

  test('a run killed at the time limit counts as a lower bound', () => {
    const outcomes = passing().filter((o) => !(o.impl === 'xrepl' && o.n === 100_000 && !o.retry));
    const killed = (elapsedMs: number): Outcome => ({
      impl: 'xrepl',
      n: 100_000,
      retry: false,
      loadavg: 1,
      incomplete: {
        reason: 'killed after 20 min',
        elapsedMs,
        peakRssBytes: 700 * MiB,
        eventLoopMaxGapMs: 20,
        progress: {},
      },
    });
    // Killed after 1.5 s: the wall is >= 1.5x the baseline, which says nothing about 2x.
    let md = renderResults(suite([...outcomes, killed(1500)]));
    expect(verdict(md, '100k wall <= 2x baseline')).toBe('UNKNOWN');
    expect(md).toContain('>= 1.50x');
    expect(md).toContain('values from it are lower bounds');
    // Killed after 2.5 s: already past 2x.
    md = renderResults(suite([...outcomes, killed(2500)]));
    expect(verdict(md, '100k wall <= 2x baseline')).toBe('FAIL');
  });
});
