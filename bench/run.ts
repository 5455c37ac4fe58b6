/**
 * The driver benchmark: xrepl's replicate() against the plain baseline on the same synthetic
 * workload, each run in a fresh child process (bench/one.ts), then BENCHMARKS.md.
 *
 *   npm run bench -- [--quick] [--runs 5] [--sizes 1000,10000,100000] [--timeout-min 20]
 *                    [--no-write] [--no-datapath]
 *   npm run bench -- --render bench/results/latest.json   (rewrite BENCHMARKS.md only)
 *
 * --quick: N = 1,000 and 10,000 only. --no-write prints the tables and writes no file.
 * A run still going after --timeout-min is killed and recorded with what it reached (its
 * progress messages and its peak RSS so far); a run that took more than 5 minutes or hit the
 * limit is not repeated for that N and implementation. The retry measure runs at the
 * largest N. Results go to bench/results/latest.json (quick.json, custom.json for --quick,
 * --sizes), and BENCHMARKS.md is rewritten between its
 * `bench:begin` / `bench:end` markers only; the sections around them are kept.
 *
 * Then, unless --no-datapath, the data-path benchmark (bench/datapath.ts, 1 GiB per run; 256
 * MiB with --quick) in a child process, which writes its own section of BENCHMARKS.md.
 */
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argValue } from './args.js';
import { compareOrders, type Equivalence } from './equivalence.js';
import {
  HEARTBEAT_MS,
  type Impl,
  type OneResult,
  type Progress,
  type WorkerMessage,
} from './one.js';
import { renderResults, type Outcome, type Suite } from './render.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = join(here, '..', '..');
const REPEAT_LIMIT_MS = 5 * 60_000;

/** Peak RSS of a live process so far (Linux), bytes. */
function peakRssOf(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function runChild(impl: Impl, n: number, retry: boolean, timeoutMs: number): Promise<Outcome> {
  const args = ['--impl', impl, '--n', String(n), ...(retry ? ['--retry'] : [])];
  const child = fork(join(here, 'one.js'), args, {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const started = Date.now();
  const progress: Progress = {};
  let result: OneResult | undefined;
  let timedOut = false;
  let peakAtKill: number | undefined;
  let lastHeartbeat = started;
  let maxGapMs = 0;
  const timer = setTimeout(() => {
    timedOut = true;
    // No heartbeat since lastHeartbeat: the child's event loop has been blocked at least this long.
    maxGapMs = Math.max(maxGapMs, Date.now() - lastHeartbeat - HEARTBEAT_MS - 10);
    peakAtKill = child.pid === undefined ? undefined : peakRssOf(child.pid);
    child.kill('SIGKILL');
  }, timeoutMs);
  child.on('message', (m: WorkerMessage) => {
    if (m.type === 'progress') Object.assign(progress, m.progress);
    else if (m.type === 'heartbeat') {
      lastHeartbeat = Date.now();
      maxGapMs = m.maxGapMs;
    } else result = m.result;
  });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const loadavg = os.loadavg()[0] as number;
      if (result !== undefined) resolve({ impl, n, retry, loadavg, result });
      else
        resolve({
          impl,
          n,
          retry,
          loadavg,
          incomplete: {
            reason: timedOut
              ? `was killed at the ${timeoutMs / 60_000} min limit`
              : `exited with ${signal ?? code}`,
            elapsedMs: Date.now() - started,
            peakRssBytes: peakAtKill,
            eventLoopMaxGapMs: timedOut ? maxGapMs : undefined,
            progress,
          },
        });
    });
  });
}

/** The commit measured, and the driver files that differed from it (uncommitted edits). */
function sourceState(): { commit: string; dirty: string[] } {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trimEnd();
    const paths = ['machines', 'src/driver', 'src/report', 'src/index.ts'];
    const dirty = git('status', '--porcelain', '--', ...paths);
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      dirty: dirty === '' ? [] : dirty.split('\n').map((l) => l.slice(3)),
    };
  } catch {
    return { commit: 'unknown', dirty: [] };
  }
}

/** The suite as JSON, formatted as `npm run lint` (prettier) wants it when prettier is there. */
async function asJson(suite: Suite): Promise<string> {
  const json = `${JSON.stringify(suite, null, 2)}\n`;
  try {
    const prettier = await import('prettier');
    return await prettier.format(json, { parser: 'json' });
  } catch {
    return json;
  }
}

function writeReport(suite: Suite): void {
  const file = join(root, 'BENCHMARKS.md');
  writeFileSync(
    file,
    mergeSection(existsSync(file) ? readFileSync(file, 'utf8') : '', renderResults(suite)),
  );
  console.log(`wrote ${file}`);
}

function elapsed(o: Outcome): number {
  return o.result?.wallMs ?? o.incomplete?.elapsedMs ?? 0;
}

async function main(): Promise<void> {
  const saved = argValue('--render');
  if (saved !== undefined) {
    const suite = JSON.parse(readFileSync(saved, 'utf8')) as Suite;
    writeReport({ ...suite, begin: new Date(suite.begin), end: new Date(suite.end) });
    return;
  }
  const quick = process.argv.includes('--quick');
  const runs = Number(argValue('--runs') ?? '5');
  const timeoutMin = Number(argValue('--timeout-min') ?? '20');
  const sizes = (argValue('--sizes') ?? (quick ? '1000,10000' : '1000,10000,100000'))
    .split(',')
    .map(Number);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error('--sizes must be positive integers');
  const retrySize = Math.max(...sizes);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

  const begin = new Date();
  const source = sourceState();
  const loadBefore = os.loadavg();
  console.log(
    `xrepl bench: sizes ${sizes.join(', ')}, ${runs} runs, time limit ${timeoutMin} min per run`,
  );
  const equivalence: Equivalence = await compareOrders(1000, 1);
  console.log(
    `order check at concurrency 1: ${equivalence.firstDifference === null ? 'same' : 'DIFFERENT'}`,
  );

  const outcomes: Outcome[] = [];
  const notes: string[] = [];
  for (const n of sizes) {
    for (const retry of n === retrySize ? [false, true] : [false]) {
      const capped = new Set<Impl>();
      for (let r = 0; r < runs; r++) {
        const order: Impl[] = r % 2 === 0 ? ['baseline', 'xrepl'] : ['xrepl', 'baseline'];
        for (const impl of order) {
          if (capped.has(impl)) continue;
          const outcome = await runChild(impl, n, retry, timeoutMin * 60_000);
          outcomes.push(outcome);
          const what = `${impl} N=${n}${retry ? ' retry' : ''} run ${r + 1}`;
          if (outcome.result) console.log(`${what}: ${outcome.result.wallMs.toFixed(0)} ms`);
          else console.log(`${what}: ${outcome.incomplete?.reason}`);
          if (elapsed(outcome) > REPEAT_LIMIT_MS || outcome.incomplete) {
            capped.add(impl);
            if (r < runs - 1) {
              notes.push(
                `${impl} at N=${n}${retry ? ' (retry)' : ''}: ${r + 1} run(s) instead of ${runs}, ` +
                  `because a run ${outcome.incomplete ? outcome.incomplete.reason : 'took more than 5 min'}.`,
              );
            }
          }
        }
      }
    }
  }

  const suite: Suite = {
    command,
    machine: {
      cores: os.cpus().length,
      model: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: os.totalmem() / 2 ** 30,
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
    },
    source,
    begin,
    end: new Date(),
    loadBefore,
    loadAfter: os.loadavg(),
    runs,
    sizes,
    retrySize,
    timeoutMin,
    equivalence,
    notes,
    outcomes,
  };
  if (process.argv.includes('--no-write')) {
    console.log(renderResults(suite));
    return;
  }
  // The default full run is `latest.json`; --quick and custom --sizes keep their own file.
  const name = argValue('--sizes') !== undefined ? 'custom' : quick ? 'quick' : 'latest';
  const resultsDir = join(root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${name}.json`), await asJson(suite));
  writeReport(suite);
  if (!process.argv.includes('--no-datapath')) {
    const size = quick ? '256' : '1024';
    await dataPath(['--runs', String(runs), '--size-mib', size, '--command', command]);
  }
}

/** bench/datapath.ts in a fresh process; rejects if it fails. */
function dataPath(args: string[]): Promise<void> {
  const child = fork(join(here, 'datapath.js'), args, {
    execArgv: ['--expose-gc'],
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`datapath.js exited with ${signal ?? code}`)),
    );
  });
}

const BEGIN = '<!-- bench:begin (generated by bench/run.ts: edit outside these markers) -->';
const END = '<!-- bench:end -->';

/** Replaces the generated part of BENCHMARKS.md, keeping what others wrote around it. */
function mergeSection(existing: string, section: string): string {
  const generated = `${BEGIN}\n${section.trim()}\n${END}`;
  const b = existing.indexOf('<!-- bench:begin');
  const e = existing.indexOf(END);
  if (b >= 0 && e > b) return existing.slice(0, b) + generated + existing.slice(e + END.length);
  const head = existing.trim() === '' ? '# Benchmarks\n\n' : `${existing.trimEnd()}\n\n`;
  return `${head}${generated}\n`;
}

await main();
