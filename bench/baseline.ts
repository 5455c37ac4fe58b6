/**
 * The plain baseline: the driver's rules (DRIVER.md D2-D9, D11) written as ordinary
 * async/await, without XState: the straightforward way to write them without statecharts.
 * It exists to tell what the statecharts cost; it is not part of xrepl's API.
 *
 * Same rules as the driver for what the benchmark exercises: plan, correspondence by key
 * (D3, with the O(n*m) fallback), names and ancestry by prefix walk (D3), correlation (D5),
 * waiting for parents (D6), steps in order (D7), one step queue per attempt as a binary heap
 * with plannings first and the same-round rule (D8), retries on temporary connectivity errors
 * (D2, D9), and a report of the same shape built from plain records (D11).
 * Left out, because the benchmark never needs them: cancellation (D10), config validation
 * (D1), logging, and re-arming reconnect deadlines beyond 2^31-1 ms.
 */
import type { DriverConfig } from '../src/config/driver-config.js';
import type { FS, Planner, Step, StepInfo } from '../src/driver/types.js';
import { classifyError } from '../src/errors/classify.js';
import type {
  AttemptReport,
  AttemptState,
  BlockedOn,
  FilesystemReport,
  FilesystemState,
  Report,
  RunState,
} from '../src/report/schema.js';

interface TimedError {
  err: string;
  time: Date;
  cause: unknown;
}
type Clock = () => Date;

const timed = (cause: unknown, now: Clock): TimedError => ({
  err: cause instanceof Error ? cause.message : String(cause),
  time: now(),
  cause,
});

/** A binary min-heap of queue waiters. */
interface Waiter {
  planning: boolean;
  date: number;
  seq: number;
  grant: () => void;
}
const before = (a: Waiter, b: Waiter): boolean =>
  a.planning !== b.planning ? a.planning : a.date !== b.date ? a.date < b.date : a.seq < b.seq;

class StepQueue {
  private readonly heap: Waiter[] = [];
  private held = 0;
  private seq = 0;
  constructor(private readonly concurrency: number) {}

  /** Waits for a slot; `date` null is a planning, ahead of every step (D4, D8). */
  acquire(date: number | null): Promise<void> {
    return new Promise((grant) => {
      this.push(date, grant);
      this.dispatch();
    });
  }

  /** Frees a slot and re-requests in the same round: the new request is in before the hand-out. */
  handoff(date: number): Promise<void> {
    return new Promise((grant) => {
      this.push(date, grant);
      this.held--;
      this.dispatch();
    });
  }

  release(): void {
    this.held--;
    this.dispatch();
  }

  private push(date: number | null, grant: () => void): void {
    const d = date === null ? -Infinity : Number.isNaN(date) ? Infinity : date;
    const h = this.heap;
    h.push({ planning: date === null, date: d, seq: this.seq++, grant });
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private dispatch(): void {
    const h = this.heap;
    while (this.held < this.concurrency && h.length > 0) {
      const top = h[0]!;
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        for (let i = 0; ;) {
          const l = 2 * i + 1;
          let m = i;
          if (l < h.length && before(h[l]!, h[m]!)) m = l;
          if (l + 1 < h.length && before(h[l + 1]!, h[m]!)) m = l + 1;
          if (m === i) break;
          [h[i], h[m]] = [h[m]!, h[i]!];
          i = m;
        }
      }
      this.held++;
      top.grant();
    }
  }
}

/** One filesystem of an attempt: a plain record, updated by runFs. */
class FsRun {
  state: FilesystemState = 'planning';
  blockedOn: BlockedOn = 'plan-queue';
  planError: TimedError | null = null;
  stepError: TimedError | null = null;
  steps: Step[] | null = null;
  currentStep = 0;
  parentsPending = 0;
  failedParents: string[] = [];
  descendants: FsRun[] = [];
  /** Presence or failure has been told to the descendants (D6). */
  announced = false;
  wake: (() => void) | null = null;
  constructor(
    readonly fs: FS,
    readonly name: string,
    readonly prevLeft: Step[] | undefined,
  ) {}
}

function present(f: FsRun): boolean {
  const s = f.steps;
  if (s === null) return false;
  if (s.length === 0 || f.currentStep >= 1) return true;
  try {
    return s[0]!.reportInfo().from !== '';
  } catch {
    return false;
  }
}

function wakeUp(f: FsRun): void {
  const w = f.wake;
  f.wake = null;
  w?.();
}

/** D6: tell the descendants once, when the fs became present, or failed before that. */
function announce(f: FsRun): void {
  if (f.announced) return;
  if (present(f)) {
    f.announced = true;
    for (const d of f.descendants) if (--d.parentsPending === 0) wakeUp(d);
  } else if (f.state === 'planning-error' || f.state === 'step-error') {
    f.announced = true;
    for (const d of f.descendants) {
      d.failedParents.push(f.name);
      wakeUp(d);
    }
  }
}

/** D5: keep the new plan up to and including the newest target the previous attempt left. */
function correlate(steps: Step[], prevLeft: Step[] | undefined): Step[] {
  if (!Array.isArray(steps)) throw new Error('planFS did not resolve to an array of steps');
  if (prevLeft === undefined || prevLeft.length === 0 || steps.length === 0) return steps;
  for (let p = prevLeft.length - 1; p >= 0; p--) {
    for (let q = steps.length - 1; q >= 0; q--) {
      if (prevLeft[p]!.targetEquals(steps[q]!)) return steps.slice(0, q + 1);
    }
  }
  throw new Error('cannot correlate previously failed attempt to current plan');
}

/** D4-D7 for one filesystem. */
async function runFs(f: FsRun, queue: StepQueue, signal: AbortSignal, now: Clock): Promise<void> {
  await queue.acquire(null);
  f.blockedOn = 'nothing';
  try {
    f.steps = correlate(await f.fs.planFS(signal), f.prevLeft);
  } catch (err) {
    f.planError = timed(err, now);
    f.state = 'planning-error';
    queue.release();
    announce(f);
    return;
  }
  const steps = f.steps;
  f.state = 'stepping';
  let holding = true;
  for (;;) {
    if (f.failedParents.length === 0 && f.parentsPending > 0) {
      if (holding) queue.release();
      holding = false;
      announce(f);
      f.blockedOn = 'parent-initial-repl';
      await new Promise<void>((resolve) => (f.wake = resolve));
      f.blockedOn = 'nothing';
    }
    if (f.failedParents.length > 0) {
      const names = f.failedParents.join(', ');
      f.stepError = timed(new Error(`parent(s) failed during initial replication: ${names}`), now);
      f.state = 'step-error';
      break;
    }
    if (f.currentStep >= steps.length) {
      f.state = 'done';
      break;
    }
    const step = steps[f.currentStep]!;
    let date: number;
    try {
      const d = step.targetDate();
      date = d instanceof Date ? d.getTime() : NaN;
    } catch (err) {
      f.stepError = timed(err, now);
      f.state = 'step-error';
      break;
    }
    f.blockedOn = 'repl-queue';
    const granted = holding ? queue.handoff(date) : queue.acquire(date);
    announce(f); // after our request is in: woken children join later rounds (D8)
    await granted;
    holding = true;
    f.blockedOn = 'nothing';
    try {
      await step.step(signal);
    } catch (err) {
      f.stepError = timed(err, now);
      f.state = 'step-error';
      break;
    }
    f.currentStep++;
  }
  if (holding) queue.release();
  announce(f);
}

function nameProblem(name: string): string | undefined {
  if (name === '' || name.startsWith('/') || name.endsWith('/'))
    return 'empty, leading or trailing "/"';
  // eslint-disable-next-line no-control-regex
  if (/[@#\u0000-\u001f\u007f]/.test(name)) return 'contains "@", "#" or a control character';
  if (name.split('/').some((c) => c.trim() === '')) return 'empty or whitespace-only component';
  return undefined;
}

/** D3: names, correspondence with the previous attempt, ancestry. Throws the planning error. */
function prepare(planned: unknown, prev: FsRun[]): FsRun[] {
  if (!Array.isArray(planned)) throw new Error('Planner.plan() did not resolve to an array');
  const list = planned as FS[];
  const names = list.map((fs) => fs.reportInfo().name);
  const byName = new Map<string, number>();
  names.forEach((name, i) => {
    const problem = nameProblem(name);
    if (problem !== undefined)
      throw new Error(`invalid filesystem name ${JSON.stringify(name)}: ${problem}`);
    if (byName.has(name)) throw new Error(`duplicate filesystem name ${JSON.stringify(name)}`);
    byName.set(name, i);
  });
  let matches: FsRun[][];
  const keyed = (fs: FS): boolean => typeof fs.correspondenceKey === 'function';
  if (list.every(keyed) && prev.every((p) => keyed(p.fs))) {
    const byKey = new Map<string, FsRun[]>();
    for (const p of prev) {
      const key = p.fs.correspondenceKey!();
      byKey.set(key, [...(byKey.get(key) ?? []), p]);
    }
    matches = list.map((fs) => byKey.get(fs.correspondenceKey!()) ?? []);
  } else {
    matches = list.map((fs) => prev.filter((p) => fs.equalToPreviousAttempt(p.fs)));
  }
  const ambiguous = names
    .map((name, i) => ({ name, prevs: matches[i]! }))
    .filter((a) => a.prevs.length > 1)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (ambiguous.length > 0) {
    const lines = ambiguous.map((a) => `  ${a.name} => [${a.prevs.map((p) => p.name).join(', ')}]`);
    throw new Error(
      `cannot determine filesystem correspondences between different attempts:\n${lines.join('\n')}`,
    );
  }
  const runs = list.map((fs, i) => {
    const p = matches[i]![0];
    const left =
      p?.steps != null && p.planError === null ? p.steps.slice(p.currentStep) : undefined;
    return new FsRun(fs, names[i]!, left);
  });
  runs.forEach((f) => {
    for (let cut = f.name.lastIndexOf('/'); cut > 0; cut = f.name.lastIndexOf('/', cut - 1)) {
      const parent = byName.get(f.name.slice(0, cut));
      if (parent !== undefined) {
        f.parentsPending++;
        runs[parent]!.descendants.push(f);
      }
    }
  });
  return runs;
}

interface AttemptRec {
  state: AttemptState;
  startAt: Date;
  finishAt: Date | null;
  planError: TimedError | null;
  filesystems: FsRun[];
}

/** D9: newest by time; among equal times the one recorded last (approximated by list order). */
function mostRecentError(a: AttemptRec): TimedError | null {
  let newest = a.planError;
  for (const f of a.filesystems) {
    const e = f.planError ?? f.stepError;
    if (e !== null && (newest === null || e.time.getTime() >= newest.time.getTime())) newest = e;
  }
  return newest;
}

export interface BaselineReplication {
  report(): Report;
  wait(): Promise<Report>;
}

/** The plain counterpart of `replicate()` (no cancellation, no config validation). */
export function replicateBaseline(
  config: DriverConfig,
  planner: Planner,
  options: { now?: Clock } = {},
): BaselineReplication {
  const now = options.now ?? (() => new Date());
  const signal = new AbortController().signal;
  const run = {
    state: 'attempting' as RunState,
    startAt: now(),
    finishAt: null as Date | null,
    waitReconnectSince: null as Date | null,
    waitReconnectUntil: null as Date | null,
    waitReconnectError: null as TimedError | null,
    attempts: [] as AttemptRec[],
  };

  async function attempt(a: AttemptRec, prev: FsRun[]): Promise<void> {
    try {
      a.filesystems = prepare(await planner.plan(signal), prev);
    } catch (err) {
      a.planError = timed(err, now);
      a.state = 'planning-error';
      a.finishAt = now();
      return;
    }
    a.state = 'fan-out-filesystems';
    const queue = new StepQueue(config.stepQueueConcurrency);
    await Promise.all(a.filesystems.map((f) => runFs(f, queue, signal, now)));
    a.state = a.filesystems.some((f) => f.planError ?? f.stepError) ? 'filesystem-error' : 'done';
    a.finishAt = now();
  }

  async function reconnect(): Promise<void> {
    const ms = config.reconnectHardFailTimeoutMs;
    run.waitReconnectSince = now();
    run.waitReconnectUntil = new Date(run.waitReconnectSince.getTime() + ms);
    run.state = 'waiting-reconnect';
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          deadline.abort();
          reject(new Error(`reconnect deadline of ${ms} ms exceeded`));
        },
        Math.min(ms, 2 ** 31 - 1),
      );
    });
    try {
      await Promise.race([planner.waitForConnectivity(deadline.signal), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function main(): Promise<void> {
    let prev: FsRun[] = [];
    for (;;) {
      const a: AttemptRec = {
        state: 'planning',
        startAt: now(),
        finishAt: null,
        planError: null,
        filesystems: [],
      };
      run.attempts.push(a);
      await attempt(a, prev);
      if (a.state === 'done') return void (run.state = 'done');
      const err = mostRecentError(a);
      const left = config.maxAttempts === -1 || run.attempts.length < config.maxAttempts;
      if (err === null || !left || classifyError(err.cause) !== 'temporary-connectivity') {
        return void (run.state = 'failed');
      }
      try {
        await reconnect();
        run.waitReconnectError = null;
        run.state = 'attempting';
        prev = a.filesystems;
      } catch (e) {
        run.waitReconnectError = timed(e, now);
        return void (run.state = 'failed');
      }
    }
  }

  const report = (): Report => ({
    state: run.state,
    startAt: new Date(run.startAt.getTime()),
    finishAt: dateOrNull(run.finishAt),
    waitReconnectSince: dateOrNull(run.waitReconnectSince),
    waitReconnectUntil: dateOrNull(run.waitReconnectUntil),
    waitReconnectError: errorReport(run.waitReconnectError),
    attempts: run.attempts.map(attemptReport),
  });
  const done = main().then(() => {
    run.finishAt = now();
    return report();
  });
  return { report, wait: () => done };
}

const dateOrNull = (d: Date | null): Date | null => (d === null ? null : new Date(d.getTime()));
const errorReport = (e: TimedError | null) =>
  e === null ? null : { err: e.err, time: new Date(e.time.getTime()) };

function stepInfo(step: Step): StepInfo {
  try {
    const i = step.reportInfo();
    return {
      from: i.from,
      to: i.to,
      resumed: i.resumed,
      bytesExpected: i.bytesExpected,
      bytesReplicated: i.bytesReplicated,
    };
  } catch {
    return { from: '', to: '', resumed: false, bytesExpected: 0, bytesReplicated: 0 };
  }
}

function attemptReport(a: AttemptRec): AttemptReport {
  return {
    state: a.state,
    startAt: new Date(a.startAt.getTime()),
    finishAt: dateOrNull(a.finishAt),
    planError: errorReport(a.planError),
    filesystems: a.filesystems.map((f): FilesystemReport => ({
      info: { name: f.name },
      state: f.state,
      blockedOn: f.state === 'planning' || f.state === 'stepping' ? f.blockedOn : 'nothing',
      planError: errorReport(f.planError),
      stepError: errorReport(f.stepError),
      currentStep: f.currentStep,
      steps: (f.steps ?? []).map((s) => ({ info: stepInfo(s) })),
      // The plain implementation does not heal (D13-D15 are off in the benchmark).
      replans: 0,
      retries: 0,
      retryError: null,
      retryAt: null,
    })),
  };
}
