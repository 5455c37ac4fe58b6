import {
  classifyError,
  replicate,
  StalePlanError,
  StepStalledError,
  type FS,
  type Planner,
  type Step,
  type StepInfo,
} from '../../src/index.js';
import { Script, fsWith, type Call } from '../helpers/scripted.js';
import { config, temporary } from '../helpers/driver.js';
import { deferred, until, type Deferred } from '../helpers/deferred.js';

const T0 = Date.UTC(2026, 0, 1);

/** A clock that stands still unless the test moves it: every time in the report is exact. */
function manualClock() {
  let t = T0;
  return { now: () => new Date(t), set: (ms: number) => (t = T0 + ms) };
}

const stale = (msg = 'snapshot @s1 is gone') => new StalePlanError(msg);

/** Calls a test has settled or is about to: pendingCall skips them. */
const taken = new WeakSet<Call>();

/** The next pending call of that kind for that fs, once it is there. */
async function pendingCall(script: Script, kind: Call['kind'], fs: string): Promise<Call> {
  const fresh = () => script.pending.find((c) => c.kind === kind && c.fs === fs && !taken.has(c));
  await until(() => fresh() !== undefined);
  const call = fresh()!;
  taken.add(call);
  return call;
}

function fsReport(r: { report(): ReturnType<ReturnType<typeof replicate>['report']> }, i = 0) {
  const attempt = r.report().attempts.at(-1)!;
  return attempt.filesystems[i]!;
}

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('D13 stale plans re-plan one filesystem', () => {
  test('a stale planFS plans again within the attempt while the others carry on', async () => {
    const clock = manualClock();
    const script = new Script(
      [fsWith('pool/a', [1]), fsWith('pool/b', [2])],
      (kind, fs) => !(kind === 'planFS' && fs === 'pool/a'),
    );
    const r = replicate(config({ replanLimit: 3, stepQueueConcurrency: 2 }), script, {
      now: clock.now,
    });
    (await pendingCall(script, 'planFS', 'pool/a')).gate.reject(stale());
    const again = await pendingCall(script, 'planFS', 'pool/a');
    // Re-planning: planning, no planError, the cause in retryError.
    const during = fsReport(r);
    expect(during).toMatchObject({
      state: 'planning',
      blockedOn: 'nothing',
      planError: null,
      stepError: null,
      replans: 1,
      retries: 0,
      retryError: { err: 'snapshot @s1 is gone', time: new Date(T0) },
      retryAt: null,
    });
    await until(() => fsReport(r, 1).state === 'done');
    again.gate.resolve(undefined);
    const report = await r.wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(1);
    const [a, b] = report.attempts[0]!.filesystems;
    expect(a).toMatchObject({ state: 'done', replans: 1, planError: null, currentStep: 1 });
    // Kept after success.
    expect(a!.retryError!.err).toBe('snapshot @s1 is gone');
    expect(b).toMatchObject({ state: 'done', replans: 0, retries: 0, retryError: null });
  });

  test('a re-plan waits for a planning slot like any planning (blockedOn plan-queue)', async () => {
    const script = new Script(
      [fsWith('pool/a', [1]), fsWith('pool/b', [2])],
      (kind) => kind === 'plan',
    );
    const r = replicate(config({ replanLimit: 1 }), script);
    (await pendingCall(script, 'planFS', 'pool/a')).gate.reject(stale());
    // pool/b asked first: it gets the slot, pool/a waits for the next one.
    const b = await pendingCall(script, 'planFS', 'pool/b');
    expect(fsReport(r)).toMatchObject({ state: 'planning', blockedOn: 'plan-queue', replans: 1 });
    b.gate.resolve(undefined);
    // Plannings first (D4): the re-plan runs before pool/b's step.
    (await pendingCall(script, 'planFS', 'pool/a')).gate.resolve(undefined);
    (await pendingCall(script, 'step', 'pool/a')).gate.resolve(undefined);
    (await pendingCall(script, 'step', 'pool/b')).gate.resolve(undefined);
    expect((await r.wait()).state).toBe('done');
    expect(script.order()).toEqual([
      'planFS:pool/a',
      'planFS:pool/b',
      'planFS:pool/a',
      'pool/a@s1',
      'pool/b@s1',
    ]);
  });

  test('a stale step re-plans, and the new plan stands as it is (no D5 cut)', async () => {
    const script = new Script(
      [fsWith('pool/a', [1, 2])],
      (kind, _fs, step) => kind !== 'step' || step !== 's2',
    );
    const r = replicate(config({ replanLimit: 1 }), script);
    const s2 = await pendingCall(script, 'step', 'pool/a');
    // The pools changed: a new snapshot appeared and the plan grows.
    script.fss[0]!.steps = [
      { from: 's1', to: 's2', date: 2 },
      { from: 's2', to: 's3', date: 3 },
    ];
    s2.gate.reject(stale('@s1 was destroyed'));
    (await pendingCall(script, 'step', 'pool/a')).gate.resolve(undefined);
    const report = await r.wait();
    const a = report.attempts[0]!.filesystems[0]!;
    expect(a).toMatchObject({ state: 'done', replans: 1, stepError: null, currentStep: 2 });
    expect(a.steps.map((s) => s.info.to)).toEqual(['s2', 's3']);
    expect(script.order()).toEqual([
      'planFS:pool/a',
      'pool/a@s1',
      'pool/a@s2',
      'planFS:pool/a',
      'pool/a@s2',
      'pool/a@s3',
    ]);
  });

  test('at the limit the stale error ends the filesystem, and D2 treats it as permanent', async () => {
    const script = new Script([fsWith('pool/a', [1])], (kind) => kind !== 'planFS');
    const r = replicate(config({ replanLimit: 2, maxAttempts: 5 }), script);
    for (let i = 0; i < 3; i++) {
      (await pendingCall(script, 'planFS', 'pool/a')).gate.reject(stale(`gone ${i}`));
    }
    const report = await r.wait();
    expect(report.state).toBe('failed');
    expect(report.attempts).toHaveLength(1);
    expect(report.waitReconnectSince).toBeNull();
    expect(report.attempts[0]!.filesystems[0]).toMatchObject({
      state: 'planning-error',
      planError: { err: 'gone 2' },
      replans: 2,
      retryError: { err: 'gone 1' },
    });
  });

  test('off by default: replanLimit 0 ends the filesystem at the first stale error', async () => {
    const script = new Script([fsWith('pool/a', [1])]);
    script.failures.set('planFS:pool/a:', stale());
    const report = await replicate(config({ maxAttempts: 3 }), script).wait();
    expect(report.state).toBe('failed');
    expect(report.attempts[0]!.filesystems[0]).toMatchObject({
      state: 'planning-error',
      replans: 0,
      retryError: null,
    });
  });

  test('options.classifyError can call an error of its own stale-plan; the cause chain counts', async () => {
    const script = new Script([fsWith('pool/a', [1])], (kind) => kind !== 'planFS');
    const r = replicate(config({ replanLimit: 1 }), script, {
      classifyError: (err) =>
        err instanceof Error && err.message === 'moved' ? 'stale-plan' : undefined,
    });
    (await pendingCall(script, 'planFS', 'pool/a')).gate.reject(new Error('moved'));
    (await pendingCall(script, 'planFS', 'pool/a')).gate.resolve(undefined);
    expect((await r.wait()).attempts[0]!.filesystems[0]).toMatchObject({
      state: 'done',
      replans: 1,
    });
    expect(classifyError(new Error('wrapped', { cause: stale() }))).toBe('stale-plan');
  });

  test('descendants keep waiting while a parent that is not present re-plans', async () => {
    const script = new Script(
      [fsWith('pool', [1]), fsWith('pool/child', [2])],
      (kind, fs) => !(kind === 'planFS' && fs === 'pool'),
    );
    const r = replicate(config({ replanLimit: 1, stepQueueConcurrency: 2 }), script);
    (await pendingCall(script, 'planFS', 'pool')).gate.reject(stale());
    const again = await pendingCall(script, 'planFS', 'pool');
    await until(() => fsReport(r, 1).blockedOn === 'parent-initial-repl');
    expect(fsReport(r, 1).state).toBe('stepping');
    again.gate.resolve(undefined);
    const report = await r.wait();
    expect(report.state).toBe('done');
    expect(script.order()).toEqual([
      'planFS:pool',
      'planFS:pool/child',
      'planFS:pool',
      'pool@s1',
      'pool/child@s1',
    ]);
  });
});

describe('D14 a failed filesystem retries while the others run', () => {
  test('a temporary step error waits in retry-wait, then plans again and finishes', async () => {
    const clock = manualClock();
    const script = new Script(
      [fsWith('pool/a', [1]), fsWith('pool/b', [2])],
      (kind, fs) => !(kind === 'step' && fs === 'pool/a'),
    );
    const r = replicate(config({ filesystemRetries: 2, stepQueueConcurrency: 1 }), script, {
      now: clock.now,
    });
    clock.set(5000);
    (await pendingCall(script, 'step', 'pool/a')).gate.reject(temporary('link down'));
    await until(() => fsReport(r).state === 'retry-wait');
    expect(fsReport(r)).toMatchObject({
      state: 'retry-wait',
      blockedOn: 'retry-backoff',
      planError: null,
      stepError: null,
      retries: 1,
      replans: 0,
      retryError: { err: 'link down', time: new Date(T0 + 5000) },
      retryAt: new Date(T0 + 5000 + 1000),
    });
    // The others run meanwhile.
    await until(() => fsReport(r, 1).state === 'done');
    expect(fsReport(r).state).toBe('retry-wait');
    jest.advanceTimersByTime(999);
    await until(() => true);
    expect(fsReport(r).state).toBe('retry-wait');
    jest.advanceTimersByTime(1);
    (await pendingCall(script, 'step', 'pool/a')).gate.resolve(undefined);
    const report = await r.wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(1);
    expect(report.attempts[0]!.filesystems[0]).toMatchObject({
      state: 'done',
      retries: 1,
      retryAt: null,
      retryError: { err: 'link down' },
      stepError: null,
    });
    expect(script.order()).toEqual([
      'planFS:pool/a',
      'planFS:pool/b',
      'pool/a@s1',
      'pool/b@s1',
      'planFS:pool/a',
      'pool/a@s1',
    ]);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('the back-off doubles per retry up to 60 s; after k retries the error ends it and D2 decides', async () => {
    const clock = manualClock();
    const script = new Script([fsWith('pool/a', [1])], (kind) => kind !== 'planFS');
    const r = replicate(
      config({
        filesystemRetries: 3,
        filesystemRetryBackoffMs: 20_000,
        maxAttempts: 1,
      }),
      script,
      { now: clock.now },
    );
    const waits: number[] = [];
    for (let i = 1; i <= 3; i++) {
      (await pendingCall(script, 'planFS', 'pool/a')).gate.reject(temporary(`lost ${i}`));
      await until(() => fsReport(r).state === 'retry-wait');
      const fs = fsReport(r);
      expect(fs.retries).toBe(i);
      waits.push(fs.retryAt!.getTime() - T0);
      jest.advanceTimersByTime(fs.retryAt!.getTime() - T0);
    }
    expect(waits).toEqual([20_000, 40_000, 60_000]);
    (await pendingCall(script, 'planFS', 'pool/a')).gate.reject(temporary('lost 4'));
    const report = await r.wait();
    // Temporary, but no attempt left: failed (with attempts left it would wait for reconnect).
    expect(report.state).toBe('failed');
    expect(report.attempts[0]!.filesystems[0]).toMatchObject({
      state: 'planning-error',
      planError: { err: 'lost 4' },
      retries: 3,
      retryError: { err: 'lost 3' },
      retryAt: null,
    });
  });

  test('counts are per attempt: a new attempt starts at 0', async () => {
    const script = new Script(
      [fsWith('pool/a', [1])],
      (kind) => kind === 'plan' || kind === 'waitForConnectivity',
    );
    const r = replicate(config({ filesystemRetries: 1, maxAttempts: 2 }), script);
    (await pendingCall(script, 'planFS', 'pool/a')).gate.reject(temporary('lost 1'));
    await until(() => fsReport(r).state === 'retry-wait');
    jest.advanceTimersByTime(1000);
    (await pendingCall(script, 'planFS', 'pool/a')).gate.reject(temporary('lost 2'));
    // Spent: the attempt fails temporary, the run waits for connectivity, a new attempt runs.
    await until(() => r.report().attempts.length === 2);
    expect(r.report().attempts[0]!.filesystems[0]).toMatchObject({ retries: 1 });
    expect(fsReport(r)).toMatchObject({ retries: 0, replans: 0, retryError: null });
    (await pendingCall(script, 'planFS', 'pool/a')).gate.resolve(undefined);
    (await pendingCall(script, 'step', 'pool/a')).gate.resolve(undefined);
    expect((await r.wait()).state).toBe('done');
  });

  test('after a step failure the retry is correlated with the plan it had (D5)', async () => {
    const script = new Script(
      [fsWith('pool/a', [1, 2])],
      (kind, _fs, step) => kind !== 'step' || step !== 's2',
    );
    const r = replicate(config({ filesystemRetries: 1 }), script);
    const s2 = await pendingCall(script, 'step', 'pool/a');
    // Meanwhile @s3 appeared: the retry does not go beyond @s2, the target planned before.
    s2.gate.reject(temporary());
    await until(() => fsReport(r).state === 'retry-wait');
    jest.advanceTimersByTime(1000);
    script.fss[0]!.steps = [
      { from: 's1', to: 's2', date: 2 },
      { from: 's2', to: 's3', date: 3 },
    ];
    (await pendingCall(script, 'step', 'pool/a')).gate.resolve(undefined);
    const report = await r.wait();
    const a = report.attempts[0]!.filesystems[0]!;
    expect(a.steps.map((s) => s.info.to)).toEqual(['s2']);
    expect(a).toMatchObject({ state: 'done', currentStep: 1, retries: 1 });
  });

  test('after a planning failure the new plan stands', async () => {
    const script = new Script([fsWith('pool/a', [1])], (kind) => kind !== 'planFS');
    const r = replicate(config({ filesystemRetries: 1 }), script);
    (await pendingCall(script, 'planFS', 'pool/a')).gate.reject(temporary());
    await until(() => fsReport(r).state === 'retry-wait');
    jest.advanceTimersByTime(1000);
    script.fss[0]!.steps = fsWith('pool/a', [1, 2]).steps;
    (await pendingCall(script, 'planFS', 'pool/a')).gate.resolve(undefined);
    const report = await r.wait();
    expect(report.attempts[0]!.filesystems[0]!.steps.map((s) => s.info.to)).toEqual(['s1', 's2']);
  });

  test('cancellation ends a retry-wait at once, with the cancellation as stepError', async () => {
    const controller = new AbortController();
    const script = new Script([fsWith('pool/a', [1])], (kind) => kind !== 'step');
    const r = replicate(config({ filesystemRetries: 1 }), script, { signal: controller.signal });
    (await pendingCall(script, 'step', 'pool/a')).gate.reject(temporary());
    await until(() => fsReport(r).state === 'retry-wait');
    controller.abort(new Error('operator cancelled'));
    const report = await r.wait();
    expect(report.state).toBe('cancelled');
    expect(report.attempts[0]!.filesystems[0]).toMatchObject({
      state: 'step-error',
      stepError: { err: 'operator cancelled' },
      retryAt: null,
      retries: 1,
    });
    expect(jest.getTimerCount()).toBe(0);
  });

  test('descendants of a filesystem that is not present wait, and fail only when it finally fails', async () => {
    const script = new Script(
      [fsWith('pool', [1]), fsWith('pool/child', [2])],
      (kind, fs) => !(kind === 'step' && fs === 'pool'),
    );
    const r = replicate(config({ filesystemRetries: 1, stepQueueConcurrency: 2 }), script);
    (await pendingCall(script, 'step', 'pool')).gate.reject(temporary('lost 1'));
    await until(() => fsReport(r).state === 'retry-wait');
    expect(fsReport(r, 1)).toMatchObject({ state: 'stepping', blockedOn: 'parent-initial-repl' });
    jest.advanceTimersByTime(1000);
    (await pendingCall(script, 'step', 'pool')).gate.reject(new Error('disk full'));
    const report = await r.wait();
    expect(report.attempts[0]!.filesystems.map((f) => [f.state, f.stepError?.err])).toEqual([
      ['step-error', 'disk full'],
      ['step-error', 'parent(s) failed during initial replication: pool'],
    ]);
  });

  test('a filesystem already present is announced once: its retry does not wake descendants early', async () => {
    const script = new Script(
      [fsWith('pool', [1, 2]), fsWith('pool/a', [3]), fsWith('pool/a/b', [4])],
      (kind, fs, step) => !(kind === 'step' && (step === 's2' || fs === 'pool/a')),
    );
    const r = replicate(config({ filesystemRetries: 1, stepQueueConcurrency: 3 }), script);
    (await pendingCall(script, 'step', 'pool')).gate.reject(temporary());
    await until(() => fsReport(r).state === 'retry-wait');
    jest.advanceTimersByTime(1000);
    // The retry's plan starts with an incremental step: present, but pool said so already.
    script.fss[0]!.steps = [{ from: 's1', to: 's2', date: 2 }];
    (await pendingCall(script, 'step', 'pool')).gate.resolve(undefined);
    await until(() => fsReport(r).state === 'done');
    const a = await pendingCall(script, 'step', 'pool/a');
    // pool/a/b still waits for pool/a (D6), which a second FS_PRESENT of pool would have undone.
    expect(fsReport(r, 2)).toMatchObject({ state: 'stepping', blockedOn: 'parent-initial-repl' });
    a.gate.resolve(undefined);
    const report = await r.wait();
    expect(report.state).toBe('done');
    expect(script.order(['step']).at(-1)).toBe('pool/a/b@s1');
  });

  test('off by default: a temporary error ends the filesystem and D2 waits for reconnect', async () => {
    const script = new Script([fsWith('pool/a', [1])]);
    script.failures.set('step:pool/a:s1', temporary());
    const report = await replicate(config({ maxAttempts: 1 }), script).wait();
    expect(report.attempts[0]!.filesystems[0]).toMatchObject({
      state: 'step-error',
      retries: 0,
    });
  });
});

/** A step the test drives: bytes, its signal, and how it reacts to an abort. */
class ControlledStep implements Step {
  bytes = 0;
  signal: AbortSignal | undefined;
  readonly gate: Deferred<void> = deferred();
  started = false;
  constructor(
    readonly name: string,
    private readonly onAbort: 'reject' | 'ignore',
  ) {}
  targetEquals(other: Step): boolean {
    return other instanceof ControlledStep && other.name === this.name;
  }
  targetDate(): Date {
    return new Date(1);
  }
  step(signal: AbortSignal): Promise<void> {
    this.started = true;
    this.signal = signal;
    if (this.onAbort === 'reject') {
      signal.addEventListener('abort', () => this.gate.reject(new Error(`${this.name}: aborted`)));
    }
    return this.gate.promise;
  }
  reportInfo(): StepInfo {
    return {
      from: '',
      to: this.name,
      resumed: false,
      bytesExpected: 0,
      bytesReplicated: this.bytes,
    };
  }
}

/** A planner of filesystems with one controlled step each; `plans[name]` is called per planFS. */
function controlledPlanner(plans: Record<string, () => Step[]>): Planner {
  const fss: FS[] = Object.entries(plans).map(([name, plan]) => ({
    equalToPreviousAttempt: (other) => other.reportInfo().name === name,
    planFS: async () => plan(),
    reportInfo: () => ({ name }),
  }));
  return { plan: async () => fss, waitForConnectivity: async () => {} };
}

describe('D15 stalled steps are aborted', () => {
  test('a step whose bytes stop growing has its own signal aborted with a StepStalledError', async () => {
    const stalled = new ControlledStep('a1', 'reject');
    const moving = new ControlledStep('b1', 'reject');
    const seen: unknown[] = [];
    const r = replicate(
      config({ stepStallTimeoutMs: 1000, stepQueueConcurrency: 2, maxAttempts: 2 }),
      controlledPlanner({ 'pool/a': () => [stalled], 'pool/b': () => [moving] }),
      // Asked by D2 about the attempt's most recent error: the stalled step's.
      { classifyError: (err) => (seen.push(err), 'permanent') },
    );
    await until(() => stalled.started && moving.started);
    expect(stalled.signal).not.toBe(moving.signal);
    for (let t = 0; t < 10; t++) {
      moving.bytes += 100;
      jest.advanceTimersByTime(100);
    }
    expect(stalled.signal!.aborted).toBe(true);
    expect(stalled.signal!.reason).toBeInstanceOf(StepStalledError);
    expect(moving.signal!.aborted).toBe(false);
    moving.gate.resolve();
    const report = await r.wait();
    const [a, b] = report.attempts[0]!.filesystems;
    expect(b!.state).toBe('done');
    expect(a!.state).toBe('step-error');
    expect(a!.stepError!.err).toMatch(/stalled: no bytes replicated for 1000 ms/);
    // The recorded error is the abort reason, with the step's own error as cause.
    const recorded = seen.find((e) => e instanceof StepStalledError) as StepStalledError;
    expect(recorded).toBe(stalled.signal!.reason);
    expect((recorded.cause as Error).message).toBe('a1: aborted');
    expect(classifyError(recorded)).toBe('temporary-connectivity');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('with filesystemRetries a stalled step is retried while the others run', async () => {
    let planned = 0;
    const first = new ControlledStep('a1', 'reject');
    const second = new ControlledStep('a1', 'reject');
    const r = replicate(
      config({ stepStallTimeoutMs: 500, filesystemRetries: 1 }),
      controlledPlanner({ 'pool/a': () => [planned++ === 0 ? first : second] }),
    );
    await until(() => first.started);
    jest.advanceTimersByTime(500);
    await until(() => fsReport(r).state === 'retry-wait');
    expect(fsReport(r).retryError!.err).toMatch(/stalled/);
    jest.advanceTimersByTime(1000);
    await until(() => second.started);
    second.bytes = 10;
    second.gate.resolve();
    const report = await r.wait();
    expect(report.attempts[0]!.filesystems[0]).toMatchObject({ state: 'done', retries: 1 });
  });

  test('a step that resolves after its stall abort counts as done', async () => {
    const step = new ControlledStep('a1', 'ignore');
    const r = replicate(
      config({ stepStallTimeoutMs: 1000 }),
      controlledPlanner({ 'pool/a': () => [step] }),
    );
    await until(() => step.started);
    jest.advanceTimersByTime(1000);
    expect(step.signal!.aborted).toBe(true);
    step.gate.resolve();
    const report = await r.wait();
    expect(report.state).toBe('done');
    expect(report.attempts[0]!.filesystems[0]).toMatchObject({ state: 'done', currentStep: 1 });
  });

  test('a step that ignores its abort keeps its slot until it settles', async () => {
    const ignoring = new ControlledStep('a1', 'ignore');
    const next = new ControlledStep('b1', 'reject');
    const r = replicate(
      config({ stepStallTimeoutMs: 1000, stepQueueConcurrency: 1 }),
      controlledPlanner({ 'pool/a': () => [ignoring], 'pool/b': () => [next] }),
    );
    await until(() => ignoring.started);
    jest.advanceTimersByTime(1000);
    expect(ignoring.signal!.aborted).toBe(true);
    await until(() => true);
    expect(next.started).toBe(false);
    ignoring.gate.reject(new Error('finally gave up'));
    await until(() => next.started);
    next.gate.resolve();
    const report = await r.wait();
    expect(report.attempts[0]!.filesystems[0]!.stepError!.err).toMatch(/stalled/);
  });

  test('growing bytes keep a step alive; the watch is gone once it settled', async () => {
    const step = new ControlledStep('a1', 'reject');
    const r = replicate(
      config({ stepStallTimeoutMs: 1000 }),
      controlledPlanner({ 'pool/a': () => [step] }),
    );
    await until(() => step.started);
    for (let t = 0; t < 50; t++) {
      step.bytes += 1;
      jest.advanceTimersByTime(900);
    }
    expect(step.signal!.aborted).toBe(false);
    step.gate.resolve();
    expect((await r.wait()).state).toBe('done');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('cancelling the run aborts a watched step through its own signal', async () => {
    const controller = new AbortController();
    const step = new ControlledStep('a1', 'reject');
    const r = replicate(
      config({ stepStallTimeoutMs: 1000 }),
      controlledPlanner({ 'pool/a': () => [step] }),
      { signal: controller.signal },
    );
    await until(() => step.started);
    controller.abort(new Error('operator cancelled'));
    expect(step.signal!.reason).toEqual(new Error('operator cancelled'));
    const report = await r.wait();
    expect(report.state).toBe('cancelled');
    expect(report.attempts[0]!.filesystems[0]!.stepError!.err).toBe('a1: aborted');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('without stepStallTimeoutMs every step shares the run signal (D4)', async () => {
    const a = new ControlledStep('a1', 'reject');
    const b = new ControlledStep('b1', 'reject');
    const r = replicate(
      config({ stepQueueConcurrency: 2 }),
      controlledPlanner({ 'pool/a': () => [a], 'pool/b': () => [b] }),
    );
    await until(() => a.started && b.started);
    expect(a.signal).toBe(b.signal);
    expect(jest.getTimerCount()).toBe(0);
    a.gate.resolve();
    b.gate.resolve();
    await r.wait();
  });
});
