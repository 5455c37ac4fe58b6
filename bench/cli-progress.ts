/**
 * The CLI's progress loop on a large run: `runReplication` (what `xrepl replicate` runs) on the
 * benchmark workload with a display that only counts its updates. Prints the wall time and how
 * many reports the display got; the driver alone is `bench/one.ts`.
 *
 *   npm run build && node --expose-gc dist/bench/cli-progress.js [N=100000]
 */
import { runReplication } from '../src/cli/run.js';
import type { CliIO } from '../src/cli/io.js';
import type { ProgressDisplay } from '../src/cli/progress/display.js';
import { Workload } from './workload.js';

const n = Number(process.argv[2] ?? 100_000);
let updates = 0;
const display: ProgressDisplay = {
  update: () => void updates++,
  finish: () => {},
  print: (write) => write(),
};
const io: CliIO = {
  stdout: { write: () => {} },
  stderr: { write: () => {} },
  isTTY: false,
  columns: 100,
  rows: 30,
  onInterrupt: () => () => {},
  exit: () => {},
};
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const t0 = performance.now();
const report = await runReplication({
  io,
  config: { stepQueueConcurrency: 8, maxAttempts: 1, reconnectHardFailTimeoutMs: 60_000 },
  planner: new Workload(n, {}),
  logger: silent,
  display,
  signal: new AbortController().signal,
});
const ms = performance.now() - t0;
console.log(
  `N = ${n}: ${report.state} in ${(ms / 1000).toFixed(1)} s, ${updates} progress updates`,
);
