/**
 * BENCHMARKS.md's generated part: one table per measure (median and min-max over the runs),
 * the xrepl/baseline ratios, and the issue's targets with PASS / FAIL.
 *
 * A run killed at the time limit still counts with what it reached: its values are lower
 * bounds, shown as `>= x`, and a target that depends on a value never reached says so.
 */
import type { Equivalence } from './equivalence.js';
import type { Impl, OneResult, Progress } from './one.js';

export interface Outcome {
  impl: Impl;
  n: number;
  retry: boolean;
  /** 1-minute load average when the run ended (other work on the machine skews timings). */
  loadavg: number;
  result?: OneResult;
  incomplete?: {
    reason: string;
    elapsedMs: number;
    peakRssBytes: number | undefined;
    /** Lower bound: the child's event loop sent no heartbeat for this long before the kill. */
    eventLoopMaxGapMs: number | undefined;
    progress: Progress;
  };
}

export interface Suite {
  command: string;
  machine: { cores: number; model: string; memoryGiB: number; node: string; platform: string };
  /** The commit measured and the driver files that had uncommitted edits (absent in old results). */
  source?: { commit: string; dirty: string[] };
  begin: Date;
  end: Date;
  loadBefore: number[];
  loadAfter: number[];
  runs: number;
  sizes: number[];
  retrySize: number;
  timeoutMin: number;
  equivalence: Equivalence;
  notes: string[];
  outcomes: Outcome[];
}

/** A measured value; `atLeast` when the run was killed before the value was final. */
interface Value {
  v: number;
  atLeast: boolean;
}

interface Stat {
  runs: number;
  median: Value;
  min: Value;
  max: Value;
}

const MiB = 2 ** 20;

function stat(values: Value[]): Stat | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a.v - b.v);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as Value)
      : {
          v: ((sorted[mid - 1] as Value).v + (sorted[mid] as Value).v) / 2,
          atLeast: (sorted[mid - 1] as Value).atLeast || (sorted[mid] as Value).atLeast,
        };
  return {
    runs: values.length,
    median,
    min: sorted[0] as Value,
    max: sorted[sorted.length - 1] as Value,
  };
}

function num(x: number): string {
  if (x >= 100) return Math.round(x).toLocaleString('en-US');
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function show(x: Value | undefined, unit = ''): string {
  return x === undefined ? 'n/a' : `${x.atLeast ? '>= ' : ''}${num(x.v)}${unit}`;
}

type Measure = (o: Outcome) => Value | undefined;

const exact = (v: number | undefined): Value | undefined =>
  v === undefined ? undefined : { v, atLeast: false };
const atLeast = (v: number | undefined): Value | undefined =>
  v === undefined ? undefined : { v, atLeast: true };

const MEASURES: { title: string; unit: string; measure: Measure; retry?: boolean }[] = [
  {
    title: 'Wall time (replicate() to wait() resolved)',
    unit: 'ms',
    measure: (o) => exact(o.result?.wallMs) ?? atLeast(o.incomplete?.elapsedMs),
  },
  {
    title: 'Step phase (replicate() to the last step done)',
    unit: 'ms',
    measure: (o) => exact(o.result?.stepsDoneAtMs ?? o.incomplete?.progress.stepsDoneAtMs),
  },
  {
    title: "Teardown (last attempt's finishAt to wait() resolved)",
    unit: 'ms',
    measure: (o) => {
      if (o.result) return exact(o.result.teardownMs);
      const done = o.incomplete?.progress.stepsDoneAtMs;
      return done === undefined
        ? undefined
        : atLeast((o.incomplete as { elapsedMs: number }).elapsedMs - done);
    },
  },
  {
    title: 'Peak RSS (max of 10 ms samples and maxRSS)',
    unit: 'MiB',
    measure: (o) =>
      exact(o.result && o.result.peakRssBytes / MiB) ??
      atLeast(o.incomplete?.peakRssBytes && o.incomplete.peakRssBytes / MiB),
  },
  {
    title: 'RSS when the last step ran',
    unit: 'MiB',
    measure: (o) => {
      const bytes = o.result?.rssAtStepsDoneBytes ?? o.incomplete?.progress.rssAtStepsDoneBytes;
      return exact(bytes === undefined ? undefined : bytes / MiB);
    },
  },
  {
    title: 'report() when half of the steps are done',
    unit: 'ms',
    measure: (o) => exact(o.result?.reportMidMs ?? o.incomplete?.progress.reportMidMs),
  },
  { title: 'report() after the end', unit: 'ms', measure: (o) => exact(o.result?.reportEndMs) },
  {
    title: 'Event loop max delay (max of the 10 ms histogram and the longest sampler gap)',
    unit: 'ms',
    measure: (o) =>
      exact(o.result && Math.max(o.result.eventLoopMaxDelayMs, o.result.eventLoopMaxGapMs)) ??
      atLeast(o.incomplete?.eventLoopMaxGapMs),
  },
  {
    title:
      "Longest sampler gap without the benchmark's own mid-run report() call (the driver alone)",
    unit: 'ms',
    measure: (o) => exact(o.result?.eventLoopMaxGapDriverMs),
  },
];

const RETRY_MEASURES: { title: string; measure: Measure }[] = [
  {
    // A killed run: until attempt 1's last step, which is within a few ms of its finishAt.
    title: 'attempt 1',
    measure: (o) => exact(o.result?.attemptMs[0] ?? o.incomplete?.progress.attempt1WorkDoneAtMs),
  },
  { title: 'attempt 2', measure: (o) => exact(o.result?.attemptMs[1]) },
  {
    title: 'attempt 2 / attempt 1',
    measure: (o) => {
      const [a1, a2] = o.result?.attemptMs ?? [];
      return a1 !== undefined && a2 !== undefined && a1 > 0 ? exact(a2 / a1) : undefined;
    },
  },
  {
    title: 'between attempts (attempt 1 teardown)',
    measure: (o) => {
      if (o.result) return exact(o.result.betweenAttemptsMs[0]);
      const done = o.incomplete?.progress.attempt1WorkDoneAtMs;
      return done === undefined
        ? undefined
        : atLeast((o.incomplete as { elapsedMs: number }).elapsedMs - done);
    },
  },
  {
    title: 'wall',
    measure: (o) => exact(o.result?.wallMs) ?? atLeast(o.incomplete?.elapsedMs),
  },
];

const IMPLS: Impl[] = ['baseline', 'xrepl'];

function measureNamed(prefix: string): Measure {
  const m = [...MEASURES, ...RETRY_MEASURES].find((x) => x.title.startsWith(prefix));
  if (m === undefined) throw new Error(`no measure titled ${prefix}...`);
  return m.measure;
}

function select(suite: Suite, impl: Impl, n: number, retry: boolean): Outcome[] {
  return suite.outcomes.filter((o) => o.impl === impl && o.n === n && o.retry === retry);
}

function statOf(outcomes: Outcome[], measure: Measure): Stat | null {
  return stat(outcomes.map(measure).filter((v): v is Value => v !== undefined));
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function measureTable(suite: Suite, measure: Measure): string {
  const lines = [
    row(['N', 'impl', 'runs', 'median', 'min - max']),
    row(['--:', '---', '--:', '--:', '--:']),
  ];
  for (const n of suite.sizes) {
    for (const impl of IMPLS) {
      const s = statOf(select(suite, impl, n, false), measure);
      lines.push(
        row([
          n.toLocaleString('en-US'),
          impl,
          String(s?.runs ?? 0),
          show(s?.median),
          s ? `${show(s.min)} - ${show(s.max)}` : 'n/a',
        ]),
      );
    }
  }
  return lines.join('\n');
}

function ratio(a: Value | undefined, b: Value | undefined): Value | undefined {
  if (a === undefined || b === undefined || b.atLeast || b.v === 0) return undefined;
  return { v: a.v / b.v, atLeast: a.atLeast };
}

type Verdict = 'PASS' | 'FAIL' | 'UNKNOWN';

/** `value <= limit`; a lower bound above the limit is a FAIL, at or below it is UNKNOWN. */
function atMost(value: Value | undefined, limit: number, strict = false): Verdict {
  if (value === undefined) return 'UNKNOWN';
  const within = strict ? value.v < limit : value.v <= limit;
  if (!within) return 'FAIL';
  return value.atLeast ? 'UNKNOWN' : 'PASS';
}

function both(a: Verdict, b: Verdict): Verdict {
  if (a === 'FAIL' || b === 'FAIL') return 'FAIL';
  if (a === 'UNKNOWN' || b === 'UNKNOWN') return 'UNKNOWN';
  return 'PASS';
}

function maxValue(outcomes: Outcome[], measure: Measure): Value | undefined {
  const s = statOf(outcomes, measure);
  return s?.max;
}

function targets(suite: Suite): string {
  const wall = measureNamed('Wall');
  const rss = measureNamed('Peak RSS');
  const mid = measureNamed('report() when');
  const end = measureNamed('report() after');
  const loop = measureNamed('Event loop');
  const med = (impl: Impl, n: number, m: Measure, retry = false): Value | undefined =>
    statOf(select(suite, impl, n, retry), m)?.median;
  const big = 100_000;
  const ten = 10_000;
  const lines = [
    row(['target', 'measured (xrepl medians unless said)', 'verdict']),
    row(['---', '---', '---']),
  ];
  const add = (target: string, measured: string, verdict: Verdict): void => {
    lines.push(row([target, measured, `**${verdict}**`]));
  };
  if (!suite.sizes.includes(big)) {
    return 'The targets are stated at N = 100,000, which this run (--quick or --sizes) did not measure.';
  }
  const wallRatio = ratio(med('xrepl', big, wall), med('baseline', big, wall));
  add('100k wall <= 2x baseline', show(wallRatio, 'x'), atMost(wallRatio, 2));
  const rssRatio = ratio(med('xrepl', big, rss), med('baseline', big, rss));
  const rssX = med('xrepl', big, rss);
  add(
    '100k peak RSS <= 1.5x baseline and < 1 GiB',
    `${show(rssRatio, 'x')}, ${show(rssX, ' MiB')}`,
    both(atMost(rssRatio, 1.5), atMost(rssX, 1024, true)),
  );
  for (const [n, limit] of [
    [big, 150],
    [ten, 15],
  ] as const) {
    const m = med('xrepl', n, mid);
    const e = med('xrepl', n, end);
    add(
      `report() at ${n / 1000}k < ${limit} ms`,
      `mid-run ${show(m, ' ms')}, at the end ${show(e, ' ms')}`,
      both(atMost(m, limit, true), atMost(e, limit, true)),
    );
  }
  const retryRatio = measureNamed('attempt 2 / attempt 1');
  const between = measureNamed('between');
  const rr = med('xrepl', big, retryRatio, true);
  const gap = med('xrepl', big, between, true);
  const a1 = med('xrepl', big, measureNamed('attempt 1'), true);
  let retryVerdict = atMost(rr, 1.2);
  let retryText = show(rr, 'x');
  if (rr === undefined && gap !== undefined && a1 !== undefined) {
    // Attempt 2 never ran within the limit: the retry costs at least the wait for it.
    const bound = { v: (gap.v + a1.v) / a1.v, atLeast: true };
    retryText = `attempt 2 not reached: it starts >= ${num(gap.v)} ms after attempt 1 ended (attempt 1: ${num(a1.v)} ms)`;
    retryVerdict = atMost(bound, 1.2);
  } else if (gap !== undefined) {
    retryText += ` (plus ${show(gap, ' ms')} between the attempts)`;
  }
  add('retry attempt at 100k <= 1.2x first attempt', retryText, retryVerdict);
  const scale = ratio(med('xrepl', big, wall), med('xrepl', ten, wall));
  add('100k point <= 12x the 10k point (wall)', show(scale, 'x'), atMost(scale, 12));
  const loopMax = maxValue(select(suite, 'xrepl', big, false), loop);
  const driverMax = maxValue(
    select(suite, 'xrepl', big, false),
    measureNamed('Longest sampler gap'),
  );
  add(
    'event loop never blocked > 50 ms during the 100k run',
    `max over runs ${show(loopMax, ' ms')}` +
      (driverMax === undefined
        ? ''
        : ` (without the mid-run report() call: ${show(driverMax, ' ms')})`),
    atMost(loopMax, 50),
  );
  return lines.join('\n');
}

function retryTable(suite: Suite): string {
  const lines = [
    row([
      'measure (ms)',
      ...IMPLS.map((i) => `${i} median`),
      ...IMPLS.map((i) => `${i} min - max`),
    ]),
  ];
  lines.push(row(['---', ...IMPLS.map(() => '--:'), ...IMPLS.map(() => '--:')]));
  for (const m of RETRY_MEASURES) {
    const stats = IMPLS.map((impl) =>
      statOf(select(suite, impl, suite.retrySize, true), m.measure),
    );
    lines.push(
      row([
        m.title,
        ...stats.map((s) => show(s?.median)),
        ...stats.map((s) => (s ? `${show(s.min)} - ${show(s.max)}` : 'n/a')),
      ]),
    );
  }
  const runs = IMPLS.map(
    (impl) => `${impl} ${select(suite, impl, suite.retrySize, true).length}`,
  ).join(', ');
  return `${lines.join('\n')}\n\nRuns: ${runs}.`;
}

function ratioTable(suite: Suite): string {
  const wall = measureNamed('Wall');
  const rss = measureNamed('Peak RSS');
  const lines = [
    row(['N', 'wall xrepl/baseline', 'peak RSS xrepl/baseline']),
    row(['--:', '--:', '--:']),
  ];
  for (const n of suite.sizes) {
    const r = (m: Measure): string =>
      show(
        ratio(
          statOf(select(suite, 'xrepl', n, false), m)?.median,
          statOf(select(suite, 'baseline', n, false), m)?.median,
        ),
        'x',
      );
    lines.push(row([n.toLocaleString('en-US'), r(wall), r(rss)]));
  }
  return lines.join('\n');
}

export function renderResults(suite: Suite): string {
  const m = suite.machine;
  const minutes = (suite.end.getTime() - suite.begin.getTime()) / 60_000;
  const eq = suite.equivalence;
  const incomplete = suite.outcomes.filter((o) => o.incomplete);
  const loads = suite.outcomes.map((o) => o.loadavg);
  const out: string[] = [
    '## Driver: xrepl vs the plain baseline',
    '',
    `Command: \`${suite.command}\` (each run in a fresh \`node --expose-gc\` child process).`,
    '',
    `Machine: ${m.cores} cores (\`os.cpus().length\`), ${m.model}, ${m.memoryGiB.toFixed(0)} GiB RAM, ` +
      `Node ${m.node}, ${m.platform}. Date: ${suite.begin.toISOString()} to ${suite.end.toISOString()} ` +
      `(${minutes.toFixed(0)} min).`,
    '',
    `Source: ${
      suite.source === undefined
        ? 'not recorded'
        : `commit ${suite.source.commit}${suite.source.dirty.length > 0 ? `, plus uncommitted edits to ${suite.source.dirty.map((d) => `\`${d}\``).join(', ')} (built into dist/ when the bench started)` : ''}`
    }.`,
    '',
    `Load average at the start ${suite.loadBefore.map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min), ` +
      `1-min load at the end of each run ${Math.min(...loads).toFixed(1)} - ${Math.max(...loads).toFixed(1)}: ` +
      'the machine was shared with other work, so timings carry noise; ratios of runs taken side by side ' +
      'are more telling than absolute values.',
    '',
    `Workload (bench/workload.ts): N filesystems \`pool\`, \`pool/gNNN\`, \`pool/gNNN/uNNN\`, \`pool/gNNN/uNNN/dN\` ` +
      '(parents before children), 3 steps each (full, incremental, incremental), steps resolve at once, ' +
      '`correspondenceKey()` implemented, `stepQueueConcurrency: 8`. ' +
      `${suite.runs} runs per N and implementation, alternating which goes first; a run is killed after ` +
      `${suite.timeoutMin} min.`,
    '',
    `Same rules check (bench/equivalence.ts): at concurrency 1 and N = ${eq.n.toLocaleString('en-US')}, xrepl and the ` +
      `baseline ${eq.firstDifference === null ? `ran the same ${eq.length} plannings and steps in the same order` : `first differ at position ${eq.firstDifference} of ${eq.length}`}.`,
  ];
  if (suite.notes.length > 0 || incomplete.length > 0) {
    out.push('', '**Reduced or incomplete runs:**', '');
    for (const note of suite.notes) out.push(`- ${note}`);
    for (const o of incomplete) {
      const i = o.incomplete as NonNullable<Outcome['incomplete']>;
      out.push(
        `- ${o.impl} N=${o.n.toLocaleString('en-US')}${o.retry ? ' retry' : ''}: ${i.reason}; values from it are lower bounds (\`>=\`). ` +
          `Reached: ${
            Object.entries(i.progress)
              .map(([k, v]) => `${k} ${num(Number(v))}`)
              .join(', ') || 'nothing'
          }.`,
      );
    }
  }
  out.push(
    '',
    '### Targets (issue 6)',
    '',
    targets(suite),
    '',
    '### Ratios xrepl / baseline (medians)',
    '',
    ratioTable(suite),
  );
  for (const measure of MEASURES) {
    out.push('', `### ${measure.title}, ${measure.unit}`, '', measureTable(suite, measure.measure));
  }
  out.push(
    '',
    `### Retry at N = ${suite.retrySize.toLocaleString('en-US')}`,
    '',
    'Attempt 1 fails with `code: "ETIMEDOUT"` on the last step of the last filesystem; `maxAttempts: 2`; ' +
      "the workload's receiver keeps what attempt 1 replicated, so attempt 2 plans every filesystem again " +
      "and runs the one step left. Attempt times from the report's startAt / finishAt (real clock).",
    '',
    retryTable(suite),
  );
  return out.join('\n');
}
