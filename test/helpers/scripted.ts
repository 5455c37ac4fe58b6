/**
 * A scripted planner for driver tests: filesystems and steps whose calls are recorded and
 * either settle at once or wait for the test to settle them (gates).
 */
import type { FS, Planner, Step, StepInfo } from '../../src/index.js';
import { deferred, type Deferred } from './deferred.js';

export type CallKind = 'plan' | 'planFS' | 'step' | 'waitForConnectivity';

export interface Call {
  kind: CallKind;
  /** fs name for planFS/step; step target for step. */
  fs?: string;
  step?: string;
  signal: AbortSignal;
  gate: Deferred<unknown>;
}

export interface StepSpec {
  from?: string;
  to: string;
  /** 'throws': targetDate() throws (D8). */
  date: number | Date | 'throws';
  bytes?: number;
}

export interface FsSpec {
  name: string;
  steps: StepSpec[];
}

export class ScriptedStep implements Step {
  bytesReplicated = 0;
  constructor(
    readonly fsName: string,
    readonly spec: StepSpec,
    private readonly script: Script,
  ) {}
  targetEquals(other: Step): boolean {
    return other instanceof ScriptedStep && other.spec.to === this.spec.to;
  }
  targetDate(): Date {
    if (this.spec.date === 'throws') throw new Error(`no creation date for ${this.spec.to}`);
    return this.spec.date instanceof Date ? this.spec.date : new Date(this.spec.date);
  }
  async step(signal: AbortSignal): Promise<void> {
    await this.script.call('step', signal, this.fsName, this.spec.to);
    this.bytesReplicated = this.spec.bytes ?? 0;
  }
  reportInfo(): StepInfo {
    return {
      from: this.spec.from ?? '',
      to: this.spec.to,
      resumed: false,
      bytesExpected: this.spec.bytes ?? 0,
      bytesReplicated: this.bytesReplicated,
    };
  }
}

export class ScriptedFS implements FS {
  constructor(
    readonly spec: FsSpec,
    private readonly script: Script,
  ) {}
  equalToPreviousAttempt(other: FS): boolean {
    return other.reportInfo().name === this.spec.name;
  }
  correspondenceKey(): string {
    return this.spec.name;
  }
  async planFS(signal: AbortSignal): Promise<Step[]> {
    await this.script.call('planFS', signal, this.spec.name);
    return this.spec.steps.map((s) => new ScriptedStep(this.spec.name, s, this.script));
  }
  reportInfo() {
    return { name: this.spec.name };
  }
}

/**
 * The script: `auto` decides which calls settle by themselves (resolve at once); the others
 * wait in `pending` until the test settles them. Every call is logged in order.
 */
export class Script implements Planner {
  readonly log: Call[] = [];
  readonly pending: Call[] = [];
  running = 0;
  maxRunning = 0;
  fss: FsSpec[];
  /** Calls that fail: key `${kind}:${fs}:${step}` -> error. */
  failures = new Map<string, unknown>();

  constructor(
    fss: FsSpec[],
    readonly auto: (kind: CallKind, fs?: string, step?: string) => boolean = () => true,
  ) {
    this.fss = fss;
  }

  async call(kind: CallKind, signal: AbortSignal, fs?: string, step?: string): Promise<unknown> {
    const gate = deferred<unknown>();
    const call: Call = { kind, fs, step, signal, gate };
    this.log.push(call);
    const slot = kind === 'planFS' || kind === 'step';
    if (slot) {
      this.running++;
      this.maxRunning = Math.max(this.maxRunning, this.running);
    }
    const failure = this.failures.get(`${kind}:${fs ?? ''}:${step ?? ''}`);
    if (failure !== undefined) gate.reject(failure);
    else if (this.auto(kind, fs, step)) gate.resolve(undefined);
    else this.pending.push(call);
    try {
      return await gate.promise;
    } finally {
      if (slot) this.running--;
      const i = this.pending.indexOf(call);
      if (i >= 0) this.pending.splice(i, 1);
    }
  }

  async plan(signal: AbortSignal): Promise<FS[]> {
    await this.call('plan', signal);
    return this.fss.map((f) => new ScriptedFS(f, this));
  }

  async waitForConnectivity(signal: AbortSignal): Promise<void> {
    await this.call('waitForConnectivity', signal);
  }

  /** The pending call matching kind (and fs, step), or throws. */
  find(kind: CallKind, fs?: string, step?: string): Call {
    const c = this.pending.find(
      (p) =>
        p.kind === kind &&
        (fs === undefined || p.fs === fs) &&
        (step === undefined || p.step === step),
    );
    if (c === undefined) {
      const have = this.pending.map((p) => `${p.kind}:${p.fs ?? ''}:${p.step ?? ''}`).join(', ');
      throw new Error(`no pending ${kind} ${fs ?? ''} ${step ?? ''}; pending: [${have}]`);
    }
    return c;
  }

  /** Order of started calls, as `kind:fs:step` strings. */
  order(kinds: CallKind[] = ['planFS', 'step']): string[] {
    return this.log
      .filter((c) => kinds.includes(c.kind))
      .map((c) => (c.kind === 'step' ? `${c.fs}@${c.step}` : `${c.kind}:${c.fs ?? ''}`));
  }
}

/** A tree spec helper: `chain('pool/a', 3)` = steps @s1..@s3 (first full), dates 1..3. */
export function fsWith(name: string, dates: number[], firstIncremental = false): FsSpec {
  return {
    name,
    steps: dates.map((d, i) => ({
      from: i === 0 ? (firstIncremental ? 'base' : '') : `s${i}`,
      to: `s${i + 1}`,
      date: d,
    })),
  };
}
