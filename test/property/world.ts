/**
 * A planner over a simulated sender and receiver, for property tests of the driver.
 *
 * Each filesystem has snapshots on the sender; the receiver holds the newest snapshot
 * replicated so far, and `planFS` plans from there, as the real planner does, so a retry
 * plans only what is still missing. Every call waits at a gate until the test releases it:
 * the test decides the interleaving. Failures are scripted per attempt and call.
 *
 * Self-healing faults (D13, D14) happen once each: `stale` (the step's target snapshot vanishes
 * from the sender, or the planning finds the plan stale) and `flap` (the connection drops for
 * this one call).
 *
 * The world also checks what only it can see: a step must start from what the receiver
 * holds (a step run twice, or out of order, would not), and no planning or step may start
 * once the run is cancelled (D10).
 */
import {
  StalePlanError,
  type FS,
  type Planner,
  type Step,
  type StepInfo,
} from '../../src/index.js';
import { deferred, type Deferred } from '../helpers/deferred.js';
import { temporary } from '../helpers/driver.js';

export type CallKind = 'plan' | 'planFS' | 'step' | 'waitForConnectivity';
/** How a call fails; `thrown-at-once`: the method throws (permanently) before returning a promise. */
export type Failure =
  'temporary' | 'permanent' | 'thrown-string' | 'thrown-at-once' | 'stale' | 'flap';

/** Failures that happen once, not at every call with the same key (D13, D14 heal them). */
const ONCE: ReadonlySet<Failure> = new Set(['stale', 'flap']);
/** A step's target date: milliseconds, an invalid Date, or a targetDate() that throws. */
export type TargetDate = number | 'invalid' | 'throws';

export interface SnapshotSpec {
  name: string;
  date: TargetDate;
}

export interface FilesystemSpec {
  name: string;
  /** The receiver already holds `@base`: the first step is incremental. */
  base: boolean;
  snapshots: SnapshotSpec[];
  /** A snapshot the sender takes while the run waits for reconnect (D5: "not beyond"). */
  later: SnapshotSpec | null;
}

export interface WorldSpec {
  filesystems: FilesystemSpec[];
  /** `failureKey(...)` -> how that call fails. */
  failures: Map<string, Failure>;
  /** Calls give up at once when their signal aborts; otherwise they wait for release. */
  honourSignal: boolean;
  /** waitForConnectivity rejects (permanently) instead of resolving. */
  reconnectFails: boolean;
}

export const failureKey = (attempt: number, kind: CallKind, fs = '', to = ''): string =>
  `${attempt}:${kind}:${fs}:${to}`;

export interface CallRecord {
  id: number;
  kind: CallKind;
  /** Attempt number, from 0: how many plan() calls came before, minus one. */
  attempt: number;
  fs?: string;
  step?: { from: string; to: string };
  signal: AbortSignal;
  /** World clock (one tick per call start and per settlement). */
  startedAt: number;
  settledAt: number | null;
  outcome: 'pending' | 'resolved' | 'rejected';
  /** planFS: the steps it returned. */
  planned?: SimStep[];
  gate: Deferred<void>;
}

export class SimStep implements Step {
  bytesReplicated = 0;

  constructor(
    readonly fs: string,
    readonly from: string,
    readonly to: string,
    readonly date: TargetDate,
    private readonly world: World,
  ) {}

  targetEquals(other: Step): boolean {
    return other instanceof SimStep && other.fs === this.fs && other.to === this.to;
  }

  targetDate(): Date {
    if (this.date === 'throws') throw new Error(`no creation date for ${this.fs}@${this.to}`);
    return new Date(this.date === 'invalid' ? NaN : this.date);
  }

  step(signal: AbortSignal): Promise<void> {
    const error = this.world.throwsAtOnce('step', signal, this.fs, this);
    if (error !== undefined) throw error;
    return this.world.call('step', signal, this.fs, this).then(() => {
      this.bytesReplicated = 100;
    });
  }

  reportInfo(): StepInfo {
    return {
      from: this.from,
      to: this.to,
      resumed: false,
      bytesExpected: 100,
      bytesReplicated: this.bytesReplicated,
    };
  }
}

class SimFS implements FS {
  constructor(
    readonly name: string,
    private readonly world: World,
  ) {}

  equalToPreviousAttempt(other: FS): boolean {
    return other.reportInfo().name === this.name;
  }

  correspondenceKey(): string {
    return this.name;
  }

  planFS(signal: AbortSignal): Promise<Step[]> {
    const error = this.world.throwsAtOnce('planFS', signal, this.name);
    if (error !== undefined) throw error;
    return this.world.planFS(this.name, signal);
  }

  reportInfo() {
    return { name: this.name };
  }
}

export class World implements Planner {
  readonly log: CallRecord[] = [];
  readonly pending: CallRecord[] = [];
  /** Plannings and steps that started after the run was cancelled (D10). */
  readonly startedAfterCancel: string[] = [];
  /** Steps that did not start from what the receiver holds: run twice, or out of order. */
  readonly receiverMismatches: string[] = [];
  running = 0;
  maxRunning = 0;
  attempt = -1;
  /** Called synchronously at the start of every call, before it waits. */
  onCall: (call: CallRecord) => void = () => {};

  private clock = 0;
  /** Newest snapshot on the receiver per filesystem ('' = nothing). */
  private readonly receiver = new Map<string, string>();
  private readonly sender = new Map<string, SnapshotSpec[]>();
  private readonly specs = new Map<string, FilesystemSpec>();
  private readonly watched = new WeakSet<AbortSignal>();
  /** Keys of the one-shot failures that happened. */
  private readonly spent = new Set<string>();

  constructor(readonly spec: WorldSpec) {
    for (const fs of spec.filesystems) {
      this.receiver.set(fs.name, fs.base ? 'base' : '');
      this.sender.set(fs.name, [...fs.snapshots]);
      this.specs.set(fs.name, fs);
    }
  }

  /** The date of a snapshot, as the scenario specified it. */
  dateOf(fs: string, to: string): TargetDate {
    const spec = this.specs.get(fs);
    const all = spec === undefined ? [] : [...spec.snapshots, ...(spec.later ? [spec.later] : [])];
    const found = all.find((s) => s.name === to);
    if (found === undefined) throw new Error(`unknown snapshot ${fs}@${to}`);
    return found.date;
  }

  plan(signal: AbortSignal): Promise<FS[]> {
    this.attempt++;
    const error = this.throwsAtOnce('plan', signal);
    if (error !== undefined) throw error;
    return this.call('plan', signal).then(() =>
      this.spec.filesystems.map((f) => new SimFS(f.name, this)),
    );
  }

  async waitForConnectivity(signal: AbortSignal): Promise<void> {
    await this.call('waitForConnectivity', signal);
  }

  async planFS(name: string, signal: AbortSignal): Promise<Step[]> {
    const record = this.call('planFS', signal, name);
    // Plan from what the receiver holds now: like a real planner, a retry skips what is there.
    const have = this.receiver.get(name) ?? '';
    const snapshots = this.sender.get(name) ?? [];
    const start =
      have === '' || have === 'base' ? 0 : snapshots.findIndex((s) => s.name === have) + 1;
    const steps = snapshots
      .slice(start)
      .map(
        (s, i, left) =>
          new SimStep(
            name,
            i === 0 ? have : (left[i - 1] as SnapshotSpec).name,
            s.name,
            s.date,
            this,
          ),
      );
    const call = this.log[this.log.length - 1] as CallRecord;
    call.planned = steps;
    await record;
    return steps;
  }

  /** The error a call throws before returning a promise, if scripted so; the call is recorded. */
  throwsAtOnce(
    kind: CallKind,
    signal: AbortSignal,
    fs?: string,
    step?: SimStep,
  ): Error | undefined {
    if (this.spec.failures.get(failureKey(this.attempt, kind, fs, step?.to)) !== 'thrown-at-once')
      return undefined;
    const call = this.record(kind, signal, fs, step);
    call.settledAt = this.clock++;
    call.outcome = 'rejected';
    if ((kind === 'planFS' || kind === 'step') && signal.aborted)
      this.startedAfterCancel.push(callName(call));
    this.onCall(call);
    return new Error(`${callName(call)} threw at once`);
  }

  private record(kind: CallKind, signal: AbortSignal, fs?: string, step?: SimStep): CallRecord {
    const call: CallRecord = {
      id: this.log.length,
      kind,
      attempt: this.attempt,
      fs,
      step: step && { from: step.from, to: step.to },
      signal,
      startedAt: this.clock++,
      settledAt: null,
      outcome: 'pending',
      gate: deferred<void>(),
    };
    this.log.push(call);
    return call;
  }

  /** Records a call and waits until it is released (or aborted, when calls honour signals). */
  async call(kind: CallKind, signal: AbortSignal, fs?: string, step?: SimStep): Promise<void> {
    const call = this.record(kind, signal, fs, step);
    this.pending.push(call);
    const slot = kind === 'planFS' || kind === 'step';
    if (slot) {
      this.running++;
      this.maxRunning = Math.max(this.maxRunning, this.running);
      if (signal.aborted) this.startedAfterCancel.push(callName(call));
    }
    if (step !== undefined) this.checkReceiver(step);
    this.onCall(call);
    if (this.spec.honourSignal) this.giveUpOnAbort(signal);
    try {
      await call.gate.promise;
    } finally {
      if (slot) this.running--;
    }
  }

  /** One listener per signal (an attempt shares one among all its calls, D4). */
  private giveUpOnAbort(signal: AbortSignal): void {
    const settleAll = (): void => {
      for (const c of this.pending.filter((p) => p.signal === signal))
        this.settle(c, signal.reason);
    };
    if (signal.aborted) settleAll();
    else if (!this.watched.has(signal)) {
      this.watched.add(signal);
      signal.addEventListener('abort', settleAll, { once: true });
    }
  }

  /** Settles a pending call with its scripted outcome. */
  release(call: CallRecord): void {
    const key = failureKey(call.attempt, call.kind, call.fs, call.step?.to);
    const failure = this.spec.failures.get(key);
    if (call.kind === 'waitForConnectivity' && this.spec.reconnectFails) {
      this.settle(call, new Error('peer is gone for good'));
    } else if (failure !== undefined && !(ONCE.has(failure) && this.spent.has(key))) {
      if (ONCE.has(failure)) this.spent.add(key);
      if (failure === 'stale' && call.kind === 'step') this.vanish(call);
      this.settle(call, failureValue(failure, call));
    } else {
      this.settle(call, undefined, true);
    }
  }

  /** Rejects every call still pending (the end of a test), so nothing dangles. */
  abandon(): void {
    for (const call of [...this.pending]) this.settle(call, new Error('abandoned by the test'));
  }

  private settle(call: CallRecord, error: unknown, ok = false): void {
    if (call.outcome !== 'pending') return;
    const i = this.pending.indexOf(call);
    if (i >= 0) this.pending.splice(i, 1);
    call.settledAt = this.clock++;
    call.outcome = ok ? 'resolved' : 'rejected';
    if (!ok) {
      call.gate.reject(error);
      return;
    }
    if (call.kind === 'step' && call.fs !== undefined && call.step !== undefined) {
      this.receiver.set(call.fs, call.step.to);
    }
    if (call.kind === 'waitForConnectivity') this.takeLaterSnapshots();
    call.gate.resolve();
  }

  /** D13: the step's target snapshot is destroyed on the sender (the plan is stale). */
  private vanish(call: CallRecord): void {
    const snapshots = this.sender.get(call.fs as string) ?? [];
    const i = snapshots.findIndex((s) => s.name === call.step?.to);
    if (i >= 0) snapshots.splice(i, 1);
  }

  private checkReceiver(step: SimStep): void {
    const have = this.receiver.get(step.fs) ?? '';
    if (have !== step.from) {
      this.receiverMismatches.push(
        `step ${step.fs}@${step.to} from "${step.from}" started while the receiver holds "${have}"`,
      );
    }
  }

  private takeLaterSnapshots(): void {
    for (const fs of this.spec.filesystems) {
      const snapshots = this.sender.get(fs.name) as SnapshotSpec[];
      if (fs.later !== null && !snapshots.includes(fs.later)) snapshots.push(fs.later);
    }
  }
}

export function callName(call: CallRecord): string {
  const what =
    call.kind === 'step' ? `step ${call.fs}@${call.step?.to}` : `${call.kind} ${call.fs ?? ''}`;
  return `${what.trim()} (attempt ${call.attempt})`;
}

function failureValue(failure: Failure, call: CallRecord): unknown {
  const what = callName(call);
  switch (failure) {
    case 'temporary':
      return temporary(`connection lost during ${what}`);
    case 'permanent':
      return new Error(`permanent failure of ${what}`);
    case 'thrown-string':
      return `a thrown string from ${what}`;
    case 'thrown-at-once':
      return new Error(`${what} threw at once`); // not reached: thrown before the call waits
    case 'stale':
      return new StalePlanError(`the plan of ${what} is stale: its snapshot is gone`);
    case 'flap':
      return temporary(`connection flapped during ${what}`);
  }
}
