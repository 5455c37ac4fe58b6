/**
 * The oracle of the differential suite: the driver's rules (docs/design.md D2-D10, D13, D14)
 * written once more, plainly, without XState and without reading the charts. It is derived
 * from bench/baseline.ts (the same step queue, presence and correlation) and adds what the
 * baseline leaves out: cancellation (D10) and the healing of D13 and D14.
 *
 * It is event-driven and synchronous, like the rules: each participant (a filesystem, the
 * attempt, the step queue) handles one event at a time, and an event sent to one that is busy
 * waits its turn (`Mailbox`). A planner call's outcome is always handled after the reactions to
 * the event that started it, even when the call throws at once. Those two sentences are the
 * only ordering the oracle assumes; everything else is the rules' text, cited by number.
 *
 * Left out: D1 (the harness's configs are valid), D3's error paths (the generated plans are
 * valid), D11's live report while running (only the final report is compared), D12, and
 * D15 (its stall watch is a driver timer with a cadence of its own).
 */
import { classifyError, type FS, type Planner, type Report, type Step } from '../../src/index.js';
import type { FilesystemReport } from '../../src/report/schema.js';

type Clock = () => Date;
interface TimedError {
  err: string;
  time: Date;
  cause: unknown;
}
const timed = (cause: unknown, now: Clock): TimedError => ({
  err: cause instanceof Error ? cause.message : String(cause),
  time: now(),
  cause,
});

/** One event at a time: what is sent while the receiver is busy waits its turn. */
class Mailbox {
  private readonly inbox: (() => void)[] = [];
  private busy = false;
  send(handle: () => void): void {
    this.inbox.push(handle);
    if (this.busy) return;
    this.busy = true;
    while (this.inbox.length > 0) (this.inbox.shift() as () => void)();
    this.busy = false;
  }
}

interface Ticket {
  fs: Filesystem;
  planning: boolean;
  date: number;
  seq: number;
}

/** D8: slots, plannings first in request order, then steps by (date, request order). */
class StepQueue {
  readonly mailbox = new Mailbox();
  private readonly waiting: Ticket[] = [];
  private readonly holders = new Set<Filesystem>();
  private seq = 0;
  constructor(private readonly concurrency: number) {}

  /** `date`: null for a planning; NaN (an invalid Date) sorts after every valid date. */
  request(fs: Filesystem, date: number | null): void {
    this.mailbox.send(() => {
      this.enqueue(fs, date);
      this.handOut();
    });
  }

  /** Frees fs's slot; `next` (a date, or null for a planning) asks again in the same round. */
  release(fs: Filesystem, next?: number | null): void {
    this.mailbox.send(() => {
      if (!this.holders.delete(fs)) return;
      if (next !== undefined) this.enqueue(fs, next);
      this.handOut();
    });
  }

  /** A cancelled waiter leaves at once; a slot already granted to it is freed. */
  withdraw(fs: Filesystem): void {
    this.mailbox.send(() => {
      const i = this.waiting.findIndex((t) => t.fs === fs);
      if (i >= 0) this.waiting.splice(i, 1);
      if (this.holders.delete(fs)) this.handOut();
    });
  }

  private enqueue(fs: Filesystem, date: number | null): void {
    const d = date === null ? -Infinity : Number.isNaN(date) ? Infinity : date;
    this.waiting.push({ fs, planning: date === null, date: d, seq: this.seq++ });
  }

  private handOut(): void {
    while (this.holders.size < this.concurrency && this.waiting.length > 0) {
      let best = 0;
      for (let i = 1; i < this.waiting.length; i++) {
        if (before(this.waiting[i] as Ticket, this.waiting[best] as Ticket)) best = i;
      }
      const { fs } = this.waiting.splice(best, 1)[0] as Ticket;
      this.holders.add(fs);
      fs.mailbox.send(() => fs.granted());
    }
  }
}

const before = (a: Ticket, b: Ticket): boolean =>
  a.planning !== b.planning ? a.planning : a.date !== b.date ? a.date < b.date : a.seq < b.seq;

/** D5: keep the new plan up to and including the newest target the previous plan had left. */
function correlate(steps: Step[], left: Step[] | undefined): Step[] {
  if (!Array.isArray(steps)) throw new Error('planFS did not resolve to an array of steps');
  if (left === undefined || left.length === 0 || steps.length === 0) return steps;
  for (let p = left.length - 1; p >= 0; p--) {
    for (let q = steps.length - 1; q >= 0; q--) {
      if ((left[p] as Step).targetEquals(steps[q] as Step)) return steps.slice(0, q + 1);
    }
  }
  throw new Error('cannot correlate previously failed attempt to current plan');
}

type Phase =
  | 'plan-wait' // planning, blockedOn plan-queue
  | 'planning' // planFS runs
  | 'parents' // stepping, blockedOn parent-initial-repl
  | 'step-wait' // stepping, blockedOn repl-queue
  | 'stepping' // a step runs
  | 'retry-wait' // D14
  | 'planning-error'
  | 'step-error'
  | 'done';

/** D11: a phase as the report shows it: state and blockedOn. */
const REPORTED: Record<Phase, [FilesystemReport['state'], FilesystemReport['blockedOn']]> = {
  'plan-wait': ['planning', 'plan-queue'],
  planning: ['planning', 'nothing'],
  parents: ['stepping', 'parent-initial-repl'],
  'step-wait': ['stepping', 'repl-queue'],
  stepping: ['stepping', 'nothing'],
  'retry-wait': ['retry-wait', 'retry-backoff'],
  'planning-error': ['planning-error', 'nothing'],
  'step-error': ['step-error', 'nothing'],
  done: ['done', 'nothing'],
};

interface Limits {
  replanLimit: number;
  retryLimit: number;
  backoffMs: number;
}

/** A filesystem of an attempt (D4-D7, D10, D13, D14). */
class Filesystem {
  readonly mailbox = new Mailbox();
  phase: Phase = 'plan-wait';
  steps: Step[] | null = null;
  current = 0;
  planError: TimedError | null = null;
  stepError: TimedError | null = null;
  cancel: { reason: unknown } | null = null;
  parentsPending: number;
  failedParents: string[] = [];
  parentFailure: unknown = undefined;
  /** D6: told its descendants it is present (once, never again, also across re-plans). */
  announced = false;
  replans = 0;
  retries = 0;
  retryError: TimedError | null = null;
  retryAt: Date | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly fs: FS,
    readonly name: string,
    /** D5: what the previous plan had left (from the previous attempt, or before a retry). */
    private previous: Step[] | undefined,
    ancestors: number,
    private readonly attempt: Attempt,
  ) {
    this.parentsPending = ancestors;
  }

  start(): void {
    this.attempt.queue.request(this, null);
  }

  /** D6: no steps, an incremental first step, or a completed step; or present before. */
  present(): boolean {
    if (this.announced) return true;
    const s = this.steps;
    if (s === null) return false;
    if (s.length === 0 || this.current >= 1) return true;
    try {
      return (s[0] as Step).reportInfo().from !== '';
    } catch {
      return false;
    }
  }

  granted(): void {
    if (this.phase === 'plan-wait') {
      this.phase = 'planning';
      this.call(
        () => this.fs.planFS(this.attempt.signal),
        (steps) => this.planned(correlate(steps as Step[], this.previous)),
        (error) => this.failed(error),
      );
    } else if (this.phase === 'step-wait') {
      this.phase = 'stepping';
      const step = (this.steps as Step[])[this.current] as Step;
      this.call(
        () => step.step(this.attempt.signal),
        () => this.stepDone(),
        (error) => this.failed(error),
      );
    } else {
      this.attempt.queue.withdraw(this); // a grant that came after the end frees its slot
    }
  }

  /** Runs a planner call; its outcome comes back as an event. No call starts once cancelled (D10). */
  private call(
    start: () => unknown,
    done: (value: unknown) => void,
    failed: (error: unknown) => void,
  ): void {
    const { signal } = this.attempt;
    let outcome: Promise<unknown>;
    try {
      outcome = signal.aborted ? Promise.reject(signal.reason) : Promise.resolve(start());
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then((value) => {
      try {
        done(value); // correlate() may throw: a planning error (D5)
      } catch (error) {
        failed(error);
      }
    }, failed);
  }

  private planned(steps: Step[]): void {
    this.mailbox.send(() => {
      this.steps = steps;
      this.current = 0;
      this.afterWork();
    });
  }

  private stepDone(): void {
    this.mailbox.send(() => {
      this.current++;
      this.afterWork();
    });
  }

  /** A planning or a step failed, holding the slot: re-plan (D13), retry (D14) or end. */
  private failed(error: unknown): void {
    this.mailbox.send(() => {
      const { limits, queue } = this.attempt;
      const cls = () => classifyError(error);
      if (this.cancel === null && this.replans < limits.replanLimit && cls() === 'stale-plan') {
        this.replans++;
        this.retryError = timed(error, this.attempt.now);
        this.steps = null; // still present if it was: `announced` stays (D6)
        this.current = 0;
        this.previous = undefined; // D13: the new plan stands
        this.phase = 'plan-wait';
        queue.release(this, null);
      } else if (
        this.cancel === null &&
        this.retries < limits.retryLimit &&
        cls() === 'temporary-connectivity'
      ) {
        this.retries++;
        const delay = Math.min(limits.backoffMs * 2 ** (this.retries - 1), 60_000);
        this.retryError = timed(error, this.attempt.now);
        this.retryAt = new Date(this.attempt.now().getTime() + delay);
        // D14: after a failed step the next plan is correlated with what this one had left.
        this.previous = this.steps === null ? undefined : this.steps.slice(this.current);
        this.steps = null;
        this.current = 0;
        this.phase = 'retry-wait';
        queue.release(this);
        this.timer = setTimeout(() => this.mailbox.send(() => this.backoffEnded()), delay);
      } else {
        const record = timed(error, this.attempt.now);
        if (this.phase === 'planning') this.planError = record;
        else this.stepError = record;
        queue.release(this);
        this.end(this.phase === 'planning' ? 'planning-error' : 'step-error');
      }
    });
  }

  private backoffEnded(): void {
    if (this.phase !== 'retry-wait') return;
    this.retryAt = null;
    this.phase = 'plan-wait';
    this.attempt.queue.request(this, null);
  }

  /** The target date of the next step: ms (NaN if invalid), or the error targetDate() threw. */
  private nextDate(): { date: number } | { error: unknown } {
    try {
      const d = (this.steps as Step[])[this.current]?.targetDate();
      return { date: d instanceof Date ? d.getTime() : NaN };
    } catch (error) {
      return { error };
    }
  }

  /** After a planning or a step, holding the slot (D6, D7, D8, D10). */
  private afterWork(): void {
    const { queue } = this.attempt;
    const steps = this.steps as Step[];
    const next = this.current < steps.length ? this.nextDate() : null;
    if (this.cancel !== null) {
      this.stepError = timed(this.cancel.reason, this.attempt.now);
      queue.release(this);
      this.announce();
      this.end('step-error');
    } else if (this.failedParents.length > 0) {
      this.stepError = this.parentsFailedError();
      queue.release(this);
      this.announce();
      this.end('step-error');
    } else if (this.parentsPending > 0) {
      this.phase = 'parents';
      queue.release(this);
      this.announce();
    } else if (next === null) {
      queue.release(this);
      this.announce();
      this.end('done');
    } else if ('error' in next) {
      this.stepError = timed(next.error, this.attempt.now);
      queue.release(this);
      this.announce();
      this.end('step-error');
    } else {
      this.phase = 'step-wait';
      queue.release(this, next.date); // the same round (D8)
      this.announce(); // after our request: woken children join later rounds
    }
  }

  /** D6: a parent became present or failed while this filesystem waited for its parents. */
  private parentsChanged(): void {
    if (this.phase !== 'parents') return;
    const steps = this.steps as Step[];
    const next = this.current < steps.length ? this.nextDate() : null;
    if (this.failedParents.length > 0) {
      this.stepError = this.parentsFailedError();
      this.end('step-error');
    } else if (this.parentsPending > 0) {
      return;
    } else if (next === null) {
      this.end('done');
    } else if ('error' in next) {
      this.stepError = timed(next.error, this.attempt.now);
      this.end('step-error');
    } else {
      this.phase = 'step-wait';
      this.attempt.queue.request(this, next.date);
    }
  }

  parentPresent(): void {
    this.parentsPending--;
    this.parentsChanged();
  }

  parentFailed(name: string, cause: unknown): void {
    if (this.failedParents.length === 0) this.parentFailure = cause;
    this.failedParents.push(name);
    this.parentsChanged();
  }

  private parentsFailedError(): TimedError {
    const names = this.failedParents.join(', ');
    const error = new Error(`parent(s) failed during initial replication: ${names}`, {
      cause: this.parentFailure,
    });
    return timed(error, this.attempt.now);
  }

  /** D10: waiters end at once; a running call is waited for. */
  cancelled(reason: unknown): void {
    if (this.cancel === null) this.cancel = { reason };
    const cancellation = () => timed(this.cancel?.reason, this.attempt.now);
    switch (this.phase) {
      case 'plan-wait':
        this.attempt.queue.withdraw(this);
        this.planError = cancellation();
        this.end('planning-error');
        break;
      case 'step-wait':
        this.attempt.queue.withdraw(this);
        this.stepError = cancellation();
        this.end('step-error');
        break;
      case 'parents':
        this.stepError = cancellation();
        this.end('step-error');
        break;
      case 'retry-wait':
        clearTimeout(this.timer);
        this.stepError = cancellation();
        this.retryAt = null;
        this.end('step-error');
        break;
      default: // running: the call's outcome decides; an ended filesystem ignores it
    }
  }

  private announce(): void {
    if (this.announced || !this.present()) return;
    this.announced = true;
    this.attempt.mailbox.send(() => this.attempt.relayPresent(this));
  }

  private end(phase: 'planning-error' | 'step-error' | 'done'): void {
    this.phase = phase;
    const error = this.planError ?? this.stepError;
    if (error !== null && !this.present()) {
      this.attempt.mailbox.send(() => this.attempt.relayFailed(this, error.cause));
    }
    this.attempt.mailbox.send(() => this.attempt.ended(error));
  }

  report(): FilesystemReport {
    const [state, blockedOn] = REPORTED[this.phase];
    return {
      info: { name: this.name },
      state,
      blockedOn,
      planError: errorReport(this.planError),
      stepError: errorReport(this.stepError),
      currentStep: this.current,
      steps: (this.steps ?? []).map((s) => ({ info: s.reportInfo() })),
      replans: this.replans,
      retries: this.retries,
      retryError: errorReport(this.retryError),
      retryAt: this.retryAt,
    };
  }
}

/** One attempt (D3, D4, D6, D9, D10). */
class Attempt {
  readonly mailbox = new Mailbox();
  state: Report['attempts'][number]['state'] = 'planning';
  readonly startAt: Date;
  finishAt: Date | null = null;
  planError: TimedError | null = null;
  filesystems: Filesystem[] = [];
  queue: StepQueue;
  /** D9: the error recorded last (the clock never goes back, so also the newest). */
  newestError: TimedError | null = null;
  private descendants = new Map<Filesystem, Filesystem[]>();
  private running = 0;
  private cancelReason: { reason: unknown } | null = null;
  private allEnded: () => void = () => undefined;

  constructor(
    readonly signal: AbortSignal,
    readonly now: Clock,
    readonly limits: Limits,
    concurrency: number,
  ) {
    this.startAt = now();
    this.queue = new StepQueue(concurrency);
  }

  /** Plans (D3), runs every filesystem and resolves when all have ended. */
  async run(planner: Planner, previous: Filesystem[]): Promise<void> {
    let planned: FS[];
    try {
      planned = await planner.plan(this.signal);
      if (this.cancelReason !== null) throw this.cancelReason.reason; // D10
    } catch (error) {
      this.planError = timed(error, this.now);
      this.finish('planning-error');
      return;
    }
    // D3: correspondence (by key when every filesystem has one), ancestry by name prefixes.
    const keyed = [...planned, ...previous.map((p) => p.fs)].every((fs) => fs.correspondenceKey);
    const correspondent = (fs: FS): Filesystem | undefined =>
      keyed
        ? previous.find((p) => p.fs.correspondenceKey?.() === fs.correspondenceKey?.())
        : previous.find((p) => fs.equalToPreviousAttempt(p.fs));
    const names = planned.map((fs) => fs.reportInfo().name);
    const byName = new Map(names.map((n, i) => [n, i]));
    const ancestorsOf = names.map((name) => {
      const found: number[] = [];
      for (let cut = name.indexOf('/'); cut > 0; cut = name.indexOf('/', cut + 1)) {
        const i = byName.get(name.slice(0, cut));
        if (i !== undefined) found.push(i);
      }
      return found;
    });
    this.filesystems = planned.map((fs, i) => {
      const prev = correspondent(fs);
      // D5: a corresponding filesystem that finished planning without error.
      const left =
        prev?.steps != null && prev.planError === null ? prev.steps.slice(prev.current) : undefined;
      return new Filesystem(fs, names[i] as string, left, (ancestorsOf[i] ?? []).length, this);
    });
    this.filesystems.forEach((f, i) => {
      for (const a of ancestorsOf[i] ?? []) {
        const parent = this.filesystems[a] as Filesystem;
        this.descendants.set(parent, [...(this.descendants.get(parent) ?? []), f]);
      }
    });
    this.state = 'fan-out-filesystems';
    this.running = this.filesystems.length;
    const ended = new Promise<void>((resolve) => (this.allEnded = resolve));
    if (this.running === 0) this.allEnded();
    this.mailbox.send(() => {
      for (const f of this.filesystems) f.mailbox.send(() => f.start());
    });
    await ended;
    this.finish(
      this.filesystems.some((f) => f.planError ?? f.stepError) ? 'filesystem-error' : 'done',
    );
  }

  private finish(state: 'planning-error' | 'filesystem-error' | 'done'): void {
    this.state = state;
    this.finishAt = this.now();
  }

  cancel(reason: unknown): void {
    if (this.cancelReason !== null) return;
    this.cancelReason = { reason };
    this.mailbox.send(() => {
      for (const f of this.filesystems) f.mailbox.send(() => f.cancelled(reason));
    });
  }

  relayPresent(from: Filesystem): void {
    for (const d of this.descendants.get(from) ?? []) d.mailbox.send(() => d.parentPresent());
  }

  relayFailed(from: Filesystem, cause: unknown): void {
    for (const d of this.descendants.get(from) ?? []) {
      d.mailbox.send(() => d.parentFailed(from.name, cause));
    }
  }

  ended(error: TimedError | null): void {
    if (error !== null) this.newestError = error;
    if (--this.running === 0) this.allEnded();
  }

  /** D9: the attempt's planError, else the newest filesystem error. */
  mostRecentError(): TimedError | null {
    return this.planError ?? this.newestError;
  }
}

export interface OracleConfig {
  stepQueueConcurrency: number;
  maxAttempts: number;
  reconnectHardFailTimeoutMs: number;
  replanLimit?: number;
  filesystemRetries?: number;
  filesystemRetryBackoffMs?: number;
}

export interface OracleReplication {
  report(): Report;
  wait(): Promise<Report>;
}

/** The oracle's `replicate()`: the run loop of D2 with cancellation (D10). */
export function replicateOracle(
  config: OracleConfig,
  planner: Planner,
  options: { signal: AbortSignal; now: Clock },
): OracleReplication {
  const { signal, now } = options;
  const limits: Limits = {
    replanLimit: config.replanLimit ?? 0,
    retryLimit: config.filesystemRetries ?? 0,
    backoffMs: config.filesystemRetryBackoffMs ?? 1000,
  };
  const run = {
    state: 'attempting' as Report['state'],
    startAt: now(),
    finishAt: null as Date | null,
    waitReconnectSince: null as Date | null,
    waitReconnectUntil: null as Date | null,
    waitReconnectError: null as TimedError | null,
    attempts: [] as Attempt[],
  };
  let current: Attempt | null = null;
  const onAbort = (): void => current?.cancel(signal.reason);
  signal.addEventListener('abort', onAbort);

  /** D2 step 4: resolves on reconnect; rejects with the reconnect error; null when cancelled. */
  async function reconnect(): Promise<'reconnected' | 'cancelled'> {
    const ms = config.reconnectHardFailTimeoutMs;
    run.waitReconnectSince = now();
    run.waitReconnectUntil = new Date(run.waitReconnectSince.getTime() + ms);
    run.state = 'waiting-reconnect';
    const wait = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let stopCancel = (): void => undefined;
    try {
      return await Promise.race([
        planner.waitForConnectivity(wait.signal).then(() => 'reconnected' as const),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`reconnect deadline of ${ms} ms exceeded`)),
            ms,
          );
        }),
        new Promise<'cancelled'>((resolve) => {
          const cancelled = (): void => resolve('cancelled');
          signal.addEventListener('abort', cancelled);
          stopCancel = () => signal.removeEventListener('abort', cancelled);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      stopCancel();
      wait.abort(); // leaving the state aborts the call's signal
    }
  }

  async function main(): Promise<void> {
    let previous: Filesystem[] = [];
    for (;;) {
      if (signal.aborted) return void (run.state = 'cancelled'); // D2 step 1, D10
      run.state = 'attempting';
      const attempt = new Attempt(signal, now, limits, config.stepQueueConcurrency);
      current = attempt;
      run.attempts.push(attempt);
      await attempt.run(planner, previous);
      if (signal.aborted) return void (run.state = 'cancelled');
      if (attempt.state === 'done') return void (run.state = 'done');
      const error = attempt.mostRecentError();
      const left = config.maxAttempts === -1 || run.attempts.length < config.maxAttempts;
      if (error === null || !left || classifyError(error.cause) !== 'temporary-connectivity') {
        return void (run.state = 'failed');
      }
      try {
        if ((await reconnect()) === 'cancelled') return void (run.state = 'cancelled');
        run.waitReconnectError = null;
      } catch (e) {
        run.waitReconnectError = timed(e, now);
        return void (run.state = 'failed');
      }
      previous = attempt.filesystems;
    }
  }

  const report = (): Report => ({
    state: run.state,
    startAt: run.startAt,
    finishAt: run.finishAt,
    waitReconnectSince: run.waitReconnectSince,
    waitReconnectUntil: run.waitReconnectUntil,
    waitReconnectError: errorReport(run.waitReconnectError),
    attempts: run.attempts.map((a) => ({
      state: a.state,
      startAt: a.startAt,
      finishAt: a.finishAt,
      planError: errorReport(a.planError),
      filesystems: a.filesystems.map((f) => f.report()),
    })),
  });
  const done = main().then(() => {
    run.finishAt = now();
    signal.removeEventListener('abort', onAbort);
    return report();
  });
  return { report, wait: () => done };
}

const errorReport = (e: TimedError | null) => (e === null ? null : { err: e.err, time: e.time });
