/**
 * A synthetic planner for `xrepl visualize --demo`: a tree of filesystems whose steps take a
 * while and report bytes as they go, with a few failures, so the visualizer has something to
 * show without ZFS. Not a test double: timings are random.
 */
import type { FS, Planner, Step, StepInfo } from '../../src/driver/types.js';

export interface DemoOptions {
  /** Number of filesystems (default 200). */
  filesystems?: number;
  /** Mean step duration in ms (default 1500). */
  stepMs?: number;
  /** Fraction of steps that fail (default 0.02). */
  failRate?: number;
  /** Source of randomness (default Math.random). */
  random?: () => number;
}

function sleep(ms: number, signal: AbortSignal, onTick: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = setInterval(() => onTick(Math.min(1, (Date.now() - start) / ms)), 100);
    const done = setTimeout(() => finish(resolve), ms);
    const abort = (): void => finish(() => reject(signal.reason ?? new Error('cancelled')));
    function finish(then: () => void): void {
      clearInterval(tick);
      clearTimeout(done);
      signal.removeEventListener('abort', abort);
      then();
    }
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  });
}

class DemoStep implements Step {
  private replicated = 0;
  constructor(
    private readonly info: Omit<StepInfo, 'bytesReplicated'>,
    private readonly date: Date,
    private readonly ms: number,
    private readonly fails: boolean,
  ) {}
  targetEquals(other: Step): boolean {
    return other.reportInfo().to === this.info.to;
  }
  targetDate(): Date {
    return this.date;
  }
  async step(signal: AbortSignal): Promise<void> {
    const failAt = this.fails ? 0.6 : 2;
    await sleep(this.ms * Math.min(1, failAt), signal, (f) => {
      this.replicated = Math.round(this.info.bytesExpected * Math.min(f, failAt));
    });
    if (this.fails)
      throw new Error(`cannot receive ${this.info.to}: zfs receive: destination has been modified`);
    this.replicated = this.info.bytesExpected;
  }
  reportInfo(): StepInfo {
    return { ...this.info, bytesReplicated: this.replicated };
  }
}

class DemoFS implements FS {
  constructor(
    private readonly name: string,
    private readonly steps: () => Step[],
    private readonly planMs: number,
  ) {}
  equalToPreviousAttempt(other: FS): boolean {
    return other.reportInfo().name === this.name;
  }
  correspondenceKey(): string {
    return this.name;
  }
  async planFS(signal: AbortSignal): Promise<Step[]> {
    await sleep(this.planMs, signal, () => {});
    return this.steps();
  }
  reportInfo(): { name: string } {
    return { name: this.name };
  }
}

/** Dataset names like `tank/home/user7/projects`: a few pools, nested a few levels. */
function names(n: number): string[] {
  const out: string[] = [];
  const groups = ['home', 'vm', 'db', 'media', 'backup'];
  out.push('tank');
  for (let g = 0; out.length < n && g < groups.length; g++) out.push(`tank/${groups[g]}`);
  for (let i = 0; out.length < n; i++) {
    const group = groups[i % groups.length] as string;
    const base = `tank/${group}/${group === 'home' ? 'user' : 'ds'}${Math.floor(i / groups.length)}`;
    out.push(base);
    if (out.length < n && i % 3 === 0) out.push(`${base}/data`);
  }
  return out.slice(0, n);
}

/**
 * A planner that plans `filesystems` filesystems with 1-4 steps each.
 *
 * @example
 * const replication = replicate(config, demoPlanner({ filesystems: 500 }), { inspect: vis.inspect });
 */
export function demoPlanner(options: DemoOptions = {}): Planner {
  const random = options.random ?? Math.random;
  const stepMs = options.stepMs ?? 1500;
  const failRate = options.failRate ?? 0.02;
  const fss = names(options.filesystems ?? 200).map((name) => {
    const count = 1 + Math.floor(random() * 4);
    const incremental = random() < 0.7;
    const t0 = Date.parse('2025-01-01T00:00:00Z') + Math.floor(random() * 1e9);
    const specs = Array.from({ length: count }, (_, i) => ({
      from: i === 0 ? (incremental ? 'base' : '') : `auto-${i}`,
      to: `auto-${i + 1}`,
      bytesExpected: Math.floor((i === 0 && !incremental ? 5e9 : 2e8) * (0.2 + random())),
      resumed: random() < 0.05,
      date: new Date(t0 + i * 3_600_000),
      ms: stepMs * (0.3 + random() * 1.4),
      fails: random() < failRate,
    }));
    const steps = (): Step[] =>
      specs.map(
        (s) =>
          new DemoStep(
            { from: s.from, to: s.to, resumed: s.resumed, bytesExpected: s.bytesExpected },
            s.date,
            s.ms,
            s.fails,
          ),
      );
    return new DemoFS(name, steps, 100 + random() * 400);
  });
  return {
    async plan(signal: AbortSignal): Promise<FS[]> {
      await sleep(300, signal, () => {});
      return fss;
    },
    async waitForConnectivity(signal: AbortSignal): Promise<void> {
      await sleep(1000, signal, () => {});
    },
  };
}
