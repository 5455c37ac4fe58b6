/**
 * The driver's parts on their own: the event-loop scheduler, the sliced final report, the
 * plan's validation and ancestry (D3), D5's correlation, the checks on what planFS resolves
 * to, and D15's stall watch. The rule tests reach them through whole runs; these pin the
 * edges a run seldom takes (docs/mutation.md lists what they were written to catch).
 */
import type { FS, Planner, Step, StepInfo } from '../../src/index.js';
import { replicate } from '../../src/index.js';
import { correlate, preparePlan, type PreviousFilesystem } from '../../src/driver/prepare.js';
import { runReport, runReportInSlices, stepInfo } from '../../src/driver/report.js';
import { eventLoopScheduler } from '../../src/driver/scheduler.js';
import { runWatched } from '../../src/driver/stall.js';
import { StepStalledError } from '../../src/errors/step-stalled.js';
import { config, temporary } from '../helpers/driver.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const signal = () => new AbortController().signal;

function step(
  to: string,
  from = '',
  run: (signal: AbortSignal) => Promise<void> = async () => {},
): Step {
  const info: StepInfo = { from, to, resumed: false, bytesExpected: 0, bytesReplicated: 0 };
  return {
    step: run,
    targetDate: () => new Date(0),
    targetEquals: (other: Step) => other.reportInfo().to === to,
    reportInfo: () => info,
  };
}

function fs(name: string, steps: unknown = [], key?: string): FS {
  return {
    reportInfo: () => ({ name }),
    equalToPreviousAttempt: (other: FS) => other.reportInfo().name === name,
    planFS: async () => steps as Step[],
    ...(key !== undefined && { correspondenceKey: () => key }),
  };
}

/** A logger that keeps each line's object and message (recordingLogger keeps level and message). */
function objectLogger() {
  const lines: [unknown, string | undefined][] = [];
  const at = (obj: unknown, msg?: string) => void lines.push([obj, msg]);
  return { lines, logger: { debug: at, info: at, warn: at, error: at } };
}

const planner = (fss: FS[]): Planner => ({
  plan: async () => fss,
  waitForConnectivity: async () => {},
});

describe('eventLoopScheduler', () => {
  test('runs at once until a slice is used up, then everything waits for one turn, in order', async () => {
    const scheduler = eventLoopScheduler(3);
    const ran: string[] = [];
    scheduler.run(() => ran.push('a'));
    scheduler.run(() => ran.push('b'));
    scheduler.run(() => ran.push('c'));
    scheduler.run(() => ran.push('d'));
    expect(ran).toEqual(['a', 'b']);
    await turn();
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    // A new slice after the turn.
    scheduler.run(() => ran.push('e'));
    scheduler.run(() => ran.push('f'));
    expect(ran).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    scheduler.run(() => ran.push('g'));
    expect(ran).toHaveLength(6);
    await turn();
    expect(ran).toHaveLength(7);
  });

  test('later always waits for a turn, and run waits behind it', async () => {
    const scheduler = eventLoopScheduler(100);
    const ran: string[] = [];
    scheduler.later(() => ran.push('later'));
    scheduler.run(() => ran.push('run'));
    expect(ran).toEqual([]);
    await turn();
    expect(ran).toEqual(['later', 'run']);
    scheduler.run(() => ran.push('now'));
    expect(ran).toEqual(['later', 'run', 'now']);
  });
});

describe('runReportInSlices', () => {
  test('builds the same report as runReport, one turn per slice of filesystems', async () => {
    const names = ['p', 'p/a', 'p/b', 'p/c', 'p/d', 'p/e'];
    const r = replicate(
      config({ maxAttempts: 1 }),
      planner(names.map((n) => fs(n, [step(`${n}@1`)]))),
    );
    await r.wait();
    const snapshot = r.actor.getSnapshot();
    let turns = 0;
    const counted = async () => {
      turns++;
      await turn();
    };
    const sliced = await runReportInSlices(snapshot, counted, 2);
    expect(sliced).toEqual(runReport(snapshot));
    // 6 filesystems in slices of 2: a turn before the second and the third slice, none after.
    expect(turns).toBe(2);
    turns = 0;
    await runReportInSlices(snapshot, counted, 6);
    expect(turns).toBe(0);
  });
});

describe('stepInfo', () => {
  test('a step whose reportInfo() throws shows as an unknown step', () => {
    const broken = {
      ...step('x'),
      reportInfo: () => {
        throw new Error('no');
      },
    };
    expect(stepInfo(broken)).toEqual({
      from: '',
      to: '',
      resumed: false,
      bytesExpected: 0,
      bytesReplicated: 0,
    });
  });
});

describe('replicate() checks its planner', () => {
  test.each([
    ['null', null],
    ['a number', 5],
    ['an object without plan()', { waitForConnectivity: async () => {} }],
    ['an object without waitForConnectivity()', { plan: async () => [] }],
    ['an object whose plan is not a function', { plan: 1, waitForConnectivity: async () => {} }],
  ])('%s is refused with a TypeError', (_what, value) => {
    expect(() => replicate(config(), value as unknown as Planner)).toThrow(
      new TypeError('replicate: planner must have plan() and waitForConnectivity() methods'),
    );
  });
});

describe('preparePlan (D3)', () => {
  test.each([
    [null, 'Planner.plan() resolved to null, not an array of filesystems'],
    [7, 'Planner.plan() resolved to number, not an array of filesystems'],
    [[null], 'Planner.plan() returned an invalid filesystem at index 0'],
    [[fs('a'), 3], 'Planner.plan() returned an invalid filesystem at index 1'],
    [
      [{ reportInfo: () => ({ name: 'a' }), planFS: 1 }],
      'Planner.plan() returned an invalid filesystem at index 0',
    ],
  ])('refuses %p', async (planned, message) => {
    await expect(preparePlan(planned, [], signal())).rejects.toThrow(message);
  });

  test('ancestors are every filesystem of the plan above a name, gaps skipped', async () => {
    const plan = await preparePlan(
      [fs('p'), fs('p/a/b'), fs('p/a'), fs('q/x'), fs('p/a/b/c')],
      [],
      signal(),
    );
    expect(plan.filesystems.map((f) => [f.name, f.ancestors])).toEqual([
      ['p', 0],
      ['p/a/b', 2],
      ['p/a', 1],
      ['q/x', 0],
      ['p/a/b/c', 3],
    ]);
    expect(plan.descendants).toEqual([[1, 2, 4], [4], [1, 4], [], []]);
  });

  const previous = (
    name: string,
    steps: Step[] | null,
    currentStep = 0,
    key?: string,
  ): PreviousFilesystem => ({
    fs: fs(name, [], key),
    name,
    steps,
    currentStep,
  });

  test('an ancestor is a prefix up to a slash, not any prefix', async () => {
    const plan = await preparePlan([fs('po'), fs('pool'), fs('pool/a')], [], signal());
    expect(plan.filesystems.map((f) => f.ancestors)).toEqual([0, 0, 1]);
    expect(plan.descendants).toEqual([[], [2], []]);
  });

  test('ambiguous correspondences are listed by name', async () => {
    const prevs = [
      previous('b', null),
      previous('b', null),
      previous('a', null),
      previous('a', null),
    ];
    await expect(preparePlan([fs('b'), fs('a')], prevs, signal())).rejects.toThrow(
      'cannot determine filesystem correspondences between different attempts:\n  a => [a, a]\n  b => [b, b]',
    );
  });

  test('without a key on every filesystem of both attempts, correspondence asks equalToPreviousAttempt', async () => {
    const left = [step('a@2')];
    const prevs = [previous('a', [step('a@1'), ...left], 1)];
    // The current filesystems have keys, the previous ones do not: keys cannot be used.
    const plan = await preparePlan([fs('a', [], 'k1'), fs('b', [], 'k2')], prevs, signal());
    expect(plan.filesystems[0]!.previous).toEqual({ left });
    expect(plan.filesystems[1]!.previous).toBeUndefined();
  });

  test('a previous filesystem without steps gives nothing to correlate with', async () => {
    const plan = await preparePlan([fs('a', [], 'k')], [previous('a', null, 0, 'k')], signal());
    expect(plan.filesystems[0]!.previous).toBeUndefined();
  });
});

describe('correlate (D5)', () => {
  test('keeps the plan up to the newest target the previous attempt had left', () => {
    const steps = [step('a@1'), step('a@2'), step('a@3')];
    expect(correlate(steps, { left: [step('a@2'), step('a@3')] })).toEqual(steps);
    expect(correlate(steps, { left: [step('a@1'), step('a@2')] })).toEqual(steps.slice(0, 2));
    expect(correlate(steps, { left: [step('a@1')] })).toEqual(steps.slice(0, 1));
  });

  test('an empty plan, or nothing left before, is kept as it is', () => {
    expect(correlate([], { left: [step('a@1')] })).toEqual([]);
    const steps = [step('a@1')];
    expect(correlate(steps, { left: [] })).toBe(steps);
    expect(correlate(steps, undefined)).toBe(steps);
  });

  test('no common target is an error', () => {
    expect(() => correlate([step('a@9')], { left: [step('a@1')] })).toThrow(
      'cannot correlate previously failed attempt to current plan',
    );
  });
});

describe('what planFS resolves to', () => {
  test.each([
    [null, 'planFS of "p" resolved to null, not an array of steps'],
    ['x', 'planFS of "p" resolved to string, not an array of steps'],
    [[null], 'planFS of "p" returned an invalid step at index 0'],
    [[step('p@1'), 4], 'planFS of "p" returned an invalid step at index 1'],
    [[{ step: 'no' }], 'planFS of "p" returned an invalid step at index 0'],
  ])('%p is the planning error of that filesystem', async (steps, message) => {
    const report = await replicate(config(), planner([fs('p', steps)])).wait();
    expect(report.attempts[0]!.filesystems[0]!.planError!.err).toBe(message);
  });
});

describe('runWatched (D15)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function stalling(from: string, to: string, settle: 'reason' | 'own') {
    let seen: AbortSignal | undefined;
    const s = step(to, from, (sig) => {
      seen = sig;
      return new Promise<void>((_resolve, reject) =>
        sig.addEventListener('abort', () =>
          reject(settle === 'reason' ? sig.reason : new Error('own')),
        ),
      );
    });
    return { s, signal: () => seen as AbortSignal };
  }

  test('the stall names the step (from -> to, or to alone for a full send) and keeps the step own error as a hidden cause', async () => {
    const incremental = stalling('p@1', 'p@2', 'own');
    const running = runWatched(incremental.s, signal(), 100);
    jest.advanceTimersByTime(100);
    const err = await running.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepStalledError);
    expect((err as Error).message).toBe('step p@1 -> p@2 stalled: no bytes replicated for 100 ms');
    expect(((err as Error).cause as Error).message).toBe('own');
    expect(Object.keys(err as object)).not.toContain('cause');

    const full = stalling('', 'p@1', 'reason');
    const second = runWatched(full.s, signal(), 100);
    jest.advanceTimersByTime(100);
    const err2 = await second.catch((e: unknown) => e);
    expect((err2 as Error).message).toBe('step p@1 stalled: no bytes replicated for 100 ms');
    // Rejected with the stall itself: it is not its own cause.
    expect(err2).toBe(full.signal().reason);
    expect((err2 as Error).cause).toBeUndefined();
  });

  test('a step whose bytes grew and then stopped growing stalls', async () => {
    let bytes = 0;
    let seen: AbortSignal | undefined;
    const s: Step = {
      ...step('p@1'),
      reportInfo: () => ({
        from: '',
        to: 'p@1',
        resumed: false,
        bytesExpected: 0,
        bytesReplicated: bytes,
      }),
      step: (sig) => {
        seen = sig;
        return new Promise<void>((_resolve, reject) =>
          sig.addEventListener('abort', () => reject(sig.reason)),
        );
      },
    };
    const running = runWatched(s, signal(), 100);
    for (let i = 0; i < 5; i++) {
      bytes += 10;
      jest.advanceTimersByTime(50);
    }
    expect(seen!.aborted).toBe(false);
    jest.advanceTimersByTime(100);
    expect(seen!.aborted).toBe(true);
    await expect(running).rejects.toBeInstanceOf(StepStalledError);
  });

  test('a step that settles stops the watch and leaves the run signal without a listener', async () => {
    const run = new AbortController();
    const added = jest.spyOn(run.signal, 'addEventListener');
    const removed = jest.spyOn(run.signal, 'removeEventListener');
    await runWatched(step('p@1'), run.signal, 1000);
    expect(jest.getTimerCount()).toBe(0);
    expect(removed).toHaveBeenCalledWith('abort', added.mock.calls[0]![1]);
    // A step that fails on its own, before any stall, fails with its own error.
    const failing = step('p@2', '', async () => {
      throw new Error('disk full');
    });
    await expect(runWatched(failing, run.signal, 1000)).rejects.toThrow('disk full');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('the run signal aborting aborts the step signal with the same reason', async () => {
    const run = new AbortController();
    const watched = stalling('', 'p@1', 'reason');
    const running = runWatched(watched.s, run.signal, 1000);
    run.abort(new Error('stop'));
    await expect(running).rejects.toThrow('stop');
    expect(watched.signal().reason).toBe(run.signal.reason);
  });
});

describe('replicate() and its logger and signal', () => {
  test('every log line carries an object, the first one the parsed config', async () => {
    const { lines, logger } = objectLogger();
    await replicate(config(), planner([]), { logger }).wait();
    expect(lines[0]).toEqual([
      { config: expect.objectContaining({ stepQueueConcurrency: 1 }) },
      'begin run',
    ]);
    expect(lines).toContainEqual([{}, 'no filesystems were considered for replication']);
    for (const [obj] of lines) expect(obj).toEqual(expect.any(Object));
  });

  test('the caller signal loses its listener when the run ends', async () => {
    const external = new AbortController();
    const added = jest.spyOn(external.signal, 'addEventListener');
    const removed = jest.spyOn(external.signal, 'removeEventListener');
    await replicate(config(), planner([fs('p', [step('p@1')])]), {
      signal: external.signal,
    }).wait();
    expect(added).toHaveBeenCalledTimes(1);
    expect(removed).toHaveBeenCalledWith('abort', added.mock.calls[0]![1]);
  });
});

describe('replicate() with a classifyError that throws', () => {
  test('the built-in rules classify, and a warning says so', async () => {
    const { lines, logger } = objectLogger();
    const broken = new Error('classifier bug');
    const failing = step('p@1', '', async () => {
      throw temporary();
    });
    let waited = 0;
    const report = await replicate(
      config({ maxAttempts: 2 }),
      {
        plan: async () => [fs('p', [failing])],
        waitForConnectivity: async () => void waited++,
      },
      {
        logger,
        classifyError: () => {
          throw broken;
        },
      },
    ).wait();
    // ETIMEDOUT is temporary by the built-in rules: the run waited and tried again.
    expect(waited).toBe(1);
    expect(report.attempts).toHaveLength(2);
    expect(lines).toContainEqual([
      { err: broken },
      'classifyError option threw; using the built-in rules',
    ]);
  });
});

describe('preparePlan on names it cannot read, and on long plans', () => {
  test('a reportInfo() that throws, or a name that is not a string, is the attempt planning error', async () => {
    const cause = new Error('gone');
    const throwing = {
      ...fs('a'),
      reportInfo: () => {
        throw cause;
      },
    };
    const err = await preparePlan([fs('p'), throwing], [], signal()).catch((e: unknown) => e);
    expect((err as Error).message).toBe('filesystem #1: reportInfo() failed: gone');
    expect((err as Error).cause).toBe(cause);
    const numbered = { ...fs('a'), reportInfo: () => ({ name: 5 }) } as unknown as FS;
    await expect(preparePlan([numbered], [], signal())).rejects.toThrow(
      'filesystem #0: reportInfo().name is number, not a string',
    );
  });

  test('a long plan yields to the event loop between chunks and stops there when aborted', async () => {
    const names = Array.from({ length: 4001 }, (_, i) => `p/f${i}`);
    const controller = new AbortController();
    // Turns of the event loop while the plan is prepared: none if it never yields.
    let turns = 0;
    let preparing = true;
    const tick = () => {
      turns++;
      if (preparing) setImmediate(tick);
    };
    setImmediate(tick);
    const plan = await preparePlan(
      names.map((n) => fs(n)),
      [],
      controller.signal,
    );
    preparing = false;
    expect(plan.filesystems).toHaveLength(4001);
    expect(turns).toBeGreaterThan(0);
    const aborted = preparePlan(
      names.map((n) => fs(n)),
      [],
      controller.signal,
    );
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
  });
});
