/**
 * Do xrepl and the baseline follow the same rules? At concurrency 1 the step queue alone
 * decides the order of every planning and step (D4, D6, D8), so both must produce exactly the
 * same sequence. (At higher concurrency, requests admitted in the same round may start in a
 * different order, which the rules leave open.)
 */
import { replicate } from '../src/index.js';
import { replicateBaseline } from './baseline.js';
import { Workload } from './workload.js';

export interface Equivalence {
  n: number;
  concurrency: number;
  length: number;
  /** Index of the first difference, or null when the sequences are equal. */
  firstDifference: number | null;
}

export async function compareOrders(n: number, concurrency = 1): Promise<Equivalence> {
  const config = {
    stepQueueConcurrency: concurrency,
    maxAttempts: 1,
    reconnectHardFailTimeoutMs: 60_000,
  };
  const traces: number[][] = [];
  for (const start of [replicate, replicateBaseline]) {
    const workload = new Workload(n);
    const trace: number[] = [];
    workload.stats.trace = trace;
    await start(config, workload).wait();
    traces.push(trace);
  }
  const [a, b] = traces as [number[], number[]];
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const equal = i === a.length && i === b.length;
  return { n, concurrency, length: a.length, firstDifference: equal ? null : i };
}
