/**
 * A deterministic synthetic Planner for the benchmarks: N filesystems in a zfs-like tree
 * (`pool`, `pool/gNN`, `pool/gNN/uNNN`, `pool/gNN/uNNN/dN`), listed parents before children
 * as `zfs list` does, 3 no-op steps each (one full send, then two incrementals).
 *
 * The planner keeps a "receiver" (how many steps of each fs have been replicated), so a
 * retry plans only what is left, as a real planner that asks the receiver would: after a
 * failed attempt, done filesystems plan zero steps and the failed one plans its rest.
 *
 * Steps resolve at once (no I/O), so the benchmark measures the driver's own orchestration.
 */
import type { FS, FilesystemInfo, Planner, Step, StepInfo } from '../src/driver/types.js';

export const STEPS_PER_FS = 3;

/** Users per group and datasets per user vary deterministically around these means. */
const USERS_PER_GROUP = 40;
const BASE_MS = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

export interface WorkloadOptions {
  /**
   * Make step `step` of filesystem `fs` reject with a temporary connectivity error
   * (`code: 'ETIMEDOUT'`) the first `times` times it runs.
   */
  fail?: { fs: number; step: number; times: number };
}

/** Counters the benchmark reads: what ran, in which order (as a hash), and a progress hook. */
export interface WorkloadStats {
  planFSCalls: number;
  stepCalls: number;
  /** FNV-1a over the sequence of (fs, step) executions: equal orders give equal hashes. */
  orderHash: number;
  /** Called synchronously after every successful step with the number done so far. */
  onStepDone: ((done: number) => void) | null;
  /** Called synchronously when the configured failure is thrown. */
  onFail: (() => void) | null;
  /** When set, every planFS call (-1 - fs) and step (fs * STEPS_PER_FS + k) is appended. */
  trace: number[] | null;
}

/** Deterministic dataset names, parents before children, exactly `n` of them. */
export function datasetNames(n: number): string[] {
  const names: string[] = [];
  const push = (name: string): boolean => {
    names.push(name);
    return names.length < n;
  };
  if (n <= 0) return names;
  if (!push('pool')) return names;
  for (let g = 0; ; g++) {
    const group = `pool/g${String(g).padStart(3, '0')}`;
    if (!push(group)) return names;
    const users = USERS_PER_GROUP - 10 + ((g * 7) % 21); // 30..50
    for (let u = 0; u < users; u++) {
      const user = `${group}/u${String(u).padStart(3, '0')}`;
      if (!push(user)) return names;
      const datasets = 1 + ((g * 31 + u * 17) % 8); // 1..8 datasets per user
      for (let d = 0; d < datasets; d++) {
        if (!push(`${user}/d${d}`)) return names;
      }
    }
  }
}

/** Creation time of snapshot `k` of filesystem `i`: daily snapshots, spread over the day. */
export function targetDate(i: number, k: number): Date {
  return new Date(BASE_MS + k * DAY_MS + ((i * 7919) % 86_400) * 1000);
}

class BenchStep implements Step {
  constructor(
    private readonly w: Workload,
    readonly fsIndex: number,
    readonly k: number,
  ) {}

  targetEquals(other: Step): boolean {
    return other instanceof BenchStep && other.fsIndex === this.fsIndex && other.k === this.k;
  }

  targetDate(): Date {
    return targetDate(this.fsIndex, this.k);
  }

  async step(): Promise<void> {
    this.w.ran(this.fsIndex, this.k);
  }

  reportInfo(): StepInfo {
    const done = (this.w.replicated[this.fsIndex] ?? 0) > this.k;
    return {
      from: this.k === 0 ? '' : `@s${this.k}`,
      to: `@s${this.k + 1}`,
      resumed: false,
      bytesExpected: 4096,
      bytesReplicated: done ? 4096 : 0,
    };
  }
}

class BenchFS implements FS {
  constructor(
    private readonly w: Workload,
    readonly index: number,
    readonly name: string,
  ) {}

  equalToPreviousAttempt(other: FS): boolean {
    return other instanceof BenchFS && other.name === this.name;
  }

  correspondenceKey(): string {
    return this.name;
  }

  async planFS(): Promise<Step[]> {
    this.w.stats.planFSCalls++;
    this.w.stats.trace?.push(-1 - this.index);
    const steps: Step[] = [];
    for (let k = this.w.replicated[this.index] as number; k < STEPS_PER_FS; k++) {
      steps.push(new BenchStep(this.w, this.index, k));
    }
    return steps;
  }

  reportInfo(): FilesystemInfo {
    return { name: this.name };
  }
}

/** The planner and its receiver state; create one per run. */
export class Workload implements Planner {
  readonly names: string[];
  /** replicated[i]: steps of fs i present on the receiver. */
  readonly replicated: Uint8Array;
  readonly stats: WorkloadStats = {
    planFSCalls: 0,
    stepCalls: 0,
    orderHash: 0x811c9dc5,
    onStepDone: null,
    onFail: null,
    trace: null,
  };
  private failuresLeft: number;

  constructor(
    readonly n: number,
    private readonly options: WorkloadOptions = {},
  ) {
    this.names = datasetNames(n);
    this.replicated = new Uint8Array(n);
    this.failuresLeft = options.fail?.times ?? 0;
  }

  get totalSteps(): number {
    return this.n * STEPS_PER_FS;
  }

  async plan(): Promise<FS[]> {
    return this.names.map((name, i) => new BenchFS(this, i, name));
  }

  async waitForConnectivity(): Promise<void> {}

  /** Called by a step when it runs: fails as configured, else records it on the receiver. */
  ran(fs: number, k: number): void {
    const fail = this.options.fail;
    if (fail !== undefined && fail.fs === fs && fail.step === k && this.failuresLeft > 0) {
      this.failuresLeft--;
      this.stats.onFail?.();
      throw Object.assign(new Error(`connection to receiver timed out (fs ${fs} step ${k})`), {
        code: 'ETIMEDOUT',
      });
    }
    this.replicated[fs] = k + 1;
    const s = this.stats;
    s.stepCalls++;
    s.trace?.push(fs * STEPS_PER_FS + k);
    s.orderHash = Math.imul(s.orderHash ^ (fs * STEPS_PER_FS + k), 0x01000193) >>> 0;
    s.onStepDone?.(s.stepCalls);
  }
}
