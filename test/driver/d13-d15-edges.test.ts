/**
 * D13, D14 at their edges: with healing allowed, an error of another class ends the filesystem
 * as before; a filesystem cancelled while its call ran ends as D10 says whatever that call's
 * error; a filesystem announced present before it planned again is never announced failed
 * (its descendants already went on, D6).
 */
import { replicate, StalePlanError } from '../../src/index.js';
import { Script, fsWith } from '../helpers/scripted.js';
import { config, temporary } from '../helpers/driver.js';
import { until } from '../helpers/deferred.js';

const stale = () => new StalePlanError('snapshot @s1 is gone');
const healing = { replanLimit: 3, filesystemRetries: 2, filesystemRetryBackoffMs: 1 };

describe('D13, D14: only their own error classes heal', () => {
  test.each([
    ['planFS', 'planning-error', 'planError'],
    ['step', 'step-error', 'stepError'],
  ] as const)(
    'a permanent error of %s ends the filesystem, no re-plan, no retry',
    async (kind, state, field) => {
      const script = new Script([fsWith('pool/a', [1])]);
      script.failures.set(
        kind === 'planFS' ? 'planFS:pool/a:' : 'step:pool/a:s1',
        new Error('disk on fire'),
      );
      const report = await replicate(config(healing), script).wait();
      const a = report.attempts[0]!.filesystems[0]!;
      expect(a).toMatchObject({ state, replans: 0, retries: 0, retryError: null });
      expect(a[field]!.err).toBe('disk on fire');
      expect(script.log.filter((c) => c.kind === kind)).toHaveLength(1);
    },
  );
});

describe('D10 before D13, D14: a cancelled filesystem does not heal', () => {
  test.each([
    ['planFS', 'a stale plan', stale, 'planning-error'],
    ['planFS', 'a temporary error', () => temporary(), 'planning-error'],
    ['step', 'a stale plan', stale, 'step-error'],
    ['step', 'a temporary error', () => temporary(), 'step-error'],
  ] as const)('cancelled while %s ran, then %s: it ends', async (kind, _what, error, state) => {
    const script = new Script([fsWith('pool/a', [1])], (k) => k !== kind);
    const controller = new AbortController();
    const r = replicate(config(healing), script, { signal: controller.signal });
    await until(() => script.pending.some((c) => c.kind === kind));
    controller.abort(new Error('stop'));
    script.pending.find((c) => c.kind === kind)!.gate.reject(error());
    const report = await r.wait();
    const a = report.attempts[0]!.filesystems[0]!;
    expect(a).toMatchObject({ state, replans: 0, retries: 0 });
    expect(script.log.filter((c) => c.kind === kind)).toHaveLength(1);
  });
});

describe('D6 with D13: present before a re-plan stays present', () => {
  test('a parent whose incremental step goes stale and whose next planning fails does not fail its children', async () => {
    // pool/p is present at once (incremental first step); its step finds its snapshot gone,
    // it plans again and that planning fails for good. pool/p/c went on when pool/p became
    // present and must not hear that its parent failed.
    const script = new Script(
      [fsWith('pool/p', [1], true), fsWith('pool/p/c', [2])],
      (kind, fs) => !(kind === 'step' || (fs === 'pool/p' && kind === 'planFS')),
    );
    const r = replicate(config({ ...healing, stepQueueConcurrency: 2 }), script);
    const next = async (kind: 'planFS' | 'step', fs: string) => {
      await until(() => script.pending.some((c) => c.kind === kind && c.fs === fs));
      return script.pending.find((c) => c.kind === kind && c.fs === fs)!;
    };
    (await next('planFS', 'pool/p')).gate.resolve(undefined);
    const pStep = await next('step', 'pool/p');
    // pool/c runs its first step while pool/p's fails.
    const cStep = await next('step', 'pool/p/c');
    pStep.gate.reject(stale());
    (await next('planFS', 'pool/p')).gate.reject(new Error('dataset does not exist'));
    await until(() => r.report().attempts[0]!.filesystems[0]!.state === 'planning-error');
    cStep.gate.resolve(undefined);
    const report = await r.wait();
    const [p, c] = report.attempts[0]!.filesystems;
    expect(p).toMatchObject({ state: 'planning-error', replans: 1 });
    expect(c).toMatchObject({ state: 'done', stepError: null, planError: null });
  });
});

describe('D6 with D13: a re-planned filesystem is announced present once', () => {
  test('a grandchild still waits for its other ancestor after the first one planned again', async () => {
    // pool/p is present at once (incremental first step) and plans again after a stale step;
    // pool/p/a is present only when its full first step is done. pool/p/a/x waits for both:
    // pool/p's second planning must not count as a second ancestor present.
    let pSteps = 0;
    const script = new Script(
      [fsWith('pool/p', [1], true), fsWith('pool/p/a', [2]), fsWith('pool/p/a/x', [3])],
      (kind, fs) =>
        !(kind === 'step' && (fs === 'pool/p/a' || (fs === 'pool/p' && pSteps++ === 0))),
    );
    const r = replicate(config({ ...healing, stepQueueConcurrency: 3 }), script);
    const next = async (fs: string) => {
      await until(() => script.pending.some((c) => c.kind === 'step' && c.fs === fs));
      return script.pending.find((c) => c.kind === 'step' && c.fs === fs)!;
    };
    const pStep = await next('pool/p');
    const aStep = await next('pool/p/a');
    pStep.gate.reject(stale());
    await until(() => r.report().attempts[0]!.filesystems[0]!.state === 'done');
    expect(r.report().attempts[0]!.filesystems[0]!.replans).toBe(1);
    expect(r.report().attempts[0]!.filesystems[2]!.blockedOn).toBe('parent-initial-repl');
    expect(script.log.some((c) => c.kind === 'step' && c.fs === 'pool/p/a/x')).toBe(false);
    aStep.gate.resolve(undefined);
    const report = await r.wait();
    expect(report.attempts[0]!.filesystems.map((f) => f.state)).toEqual(['done', 'done', 'done']);
  });
});

describe('D6: a filesystem is announced present once', () => {
  test('a grandchild still waits for its other ancestor after the first one ran more steps', async () => {
    // pool/p becomes present with its first (full) step and then runs a second one; pool/p/a
    // is held in its first step. pool/p/a/x must wait for it whatever pool/p does next.
    const script = new Script(
      [fsWith('pool/p', [1, 2]), fsWith('pool/p/a', [3]), fsWith('pool/p/a/x', [4])],
      (kind, fs) => !(kind === 'step' && fs === 'pool/p/a'),
    );
    const r = replicate(config({ stepQueueConcurrency: 3 }), script);
    await until(() => script.pending.some((c) => c.kind === 'step' && c.fs === 'pool/p/a'));
    await until(() => r.report().attempts[0]!.filesystems[0]!.state === 'done');
    expect(script.log.filter((c) => c.kind === 'step' && c.fs === 'pool/p')).toHaveLength(2);
    expect(r.report().attempts[0]!.filesystems[2]!.blockedOn).toBe('parent-initial-repl');
    expect(script.log.some((c) => c.kind === 'step' && c.fs === 'pool/p/a/x')).toBe(false);
    script.pending.find((c) => c.fs === 'pool/p/a')!.gate.resolve(undefined);
    const report = await r.wait();
    expect(report.attempts[0]!.filesystems.map((f) => f.state)).toEqual(['done', 'done', 'done']);
  });
});

describe('D6, D9, D10: what a filesystem records when its parents fail or it is cancelled', () => {
  test('every failed ancestor is named, and the first one is the cause', async () => {
    const first = new Error('p is gone');
    const second = new Error('p/a is gone');
    // pool/p and pool/p/a fail their planning in that order while pool/p/a/x still plans.
    const script = new Script(
      [fsWith('pool/p', [1]), fsWith('pool/p/a', [2]), fsWith('pool/p/a/x', [3])],
      (kind) => kind !== 'planFS',
    );
    const seen: unknown[] = [];
    const r = replicate(config({ stepQueueConcurrency: 3, maxAttempts: 2 }), script, {
      classifyError: (err) => void seen.push(err),
    });
    await until(() => script.pending.filter((c) => c.kind === 'planFS').length === 3);
    script.pending.find((c) => c.fs === 'pool/p')!.gate.reject(first);
    script.pending.find((c) => c.fs === 'pool/p/a')!.gate.reject(second);
    await until(() => r.report().attempts[0]!.filesystems[1]!.state === 'planning-error');
    script.pending.find((c) => c.fs === 'pool/p/a/x')!.gate.resolve(undefined);
    const report = await r.wait();
    const x = report.attempts[0]!.filesystems[2]!;
    expect(x.state).toBe('step-error');
    expect(x.stepError!.err).toBe('parent(s) failed during initial replication: pool/p, pool/p/a');
    // Asked of the attempt's most recent error (D2): pool/p/a/x's, recorded last.
    const recorded = seen.find(
      (e) => e instanceof Error && e.message.startsWith('parent(s) failed'),
    );
    expect((recorded as Error).cause).toBe(first);
  });

  test('a step that completes after cancellation still records the cancellation (D10)', async () => {
    const script = new Script([fsWith('pool/a', [1, 2])], (kind) => kind !== 'step');
    const controller = new AbortController();
    const r = replicate(config(), script, { signal: controller.signal });
    await until(() => script.pending.some((c) => c.kind === 'step'));
    controller.abort(new Error('stop'));
    // The step ignores its abort and completes.
    script.pending.find((c) => c.kind === 'step')!.gate.resolve(undefined);
    const report = await r.wait();
    const a = report.attempts[0]!.filesystems[0]!;
    expect(a).toMatchObject({ state: 'step-error', currentStep: 1 });
    expect(a.stepError!.err).toBe('stop');
    expect(script.log.filter((c) => c.kind === 'step')).toHaveLength(1);
  });
});
