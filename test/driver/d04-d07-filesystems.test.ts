import { replicate } from '../../src/index.js';
import { Script, fsWith } from '../helpers/scripted.js';
import { config } from '../helpers/driver.js';
import { until } from '../helpers/deferred.js';

const fsOf = (r: ReturnType<typeof replicate>, i: number) =>
  r.report().attempts[0]?.filesystems[i] ?? { state: 'unplanned', currentStep: -1, blockedOn: '' };

describe('D4 fs planning', () => {
  test('plannings wait on the queue ahead of every step (blockedOn plan-queue)', async () => {
    const script = new Script(
      [fsWith('pool/a', [1, 2]), fsWith('pool/b', [3]), fsWith('pool/c', [0])],
      (kind) => kind !== 'planFS',
    );
    const r = replicate(config({ stepQueueConcurrency: 1 }), script);
    await until(() => script.pending.length === 1);
    expect(fsOf(r, 0)).toMatchObject({ state: 'planning', blockedOn: 'nothing' });
    expect(fsOf(r, 1)).toMatchObject({ state: 'planning', blockedOn: 'plan-queue' });
    expect(fsOf(r, 2)).toMatchObject({ state: 'planning', blockedOn: 'plan-queue' });
    script.find('planFS', 'pool/a').gate.resolve(undefined);
    await until(() => script.pending.length === 1 && script.pending[0]!.fs === 'pool/b');
    // pool/a has planned but its step waits: every planning goes first.
    expect(fsOf(r, 0)).toMatchObject({ state: 'stepping', blockedOn: 'repl-queue' });
    script.find('planFS', 'pool/b').gate.resolve(undefined);
    await until(() => script.pending[0]?.fs === 'pool/c');
    script.find('planFS', 'pool/c').gate.resolve(undefined);
    await r.wait();
    expect(script.order()).toEqual([
      'planFS:pool/a',
      'planFS:pool/b',
      'planFS:pool/c',
      'pool/c@s1',
      'pool/a@s1',
      'pool/a@s2',
      'pool/b@s1',
    ]);
  });

  test('a rejected planFS is a planning error that fails the children', async () => {
    const script = new Script([fsWith('pool', [1]), fsWith('pool/a', [2]), fsWith('other', [3])]);
    script.failures.set('planFS:pool:', new Error('no such dataset'));
    const report = await replicate(config({ stepQueueConcurrency: 2 }), script).wait();
    const [pool, child, other] = report.attempts[0]!.filesystems;
    expect(pool).toMatchObject({ state: 'planning-error', blockedOn: 'nothing', steps: [] });
    expect(pool!.planError!.err).toBe('no such dataset');
    expect(child!.state).toBe('step-error');
    expect(child!.stepError!.err).toBe('parent(s) failed during initial replication: pool');
    expect(other!.state).toBe('done');
    expect(report.attempts[0]!.state).toBe('filesystem-error');
  });

  test('planFS resolving to a non-array is a planning error of that fs', async () => {
    const script = new Script([fsWith('pool', [1])]);
    const { ScriptedFS } = await import('../helpers/scripted.js');
    const spy = jest.spyOn(ScriptedFS.prototype, 'planFS').mockResolvedValue(undefined as never);
    try {
      const report = await replicate(config(), script).wait();
      expect(report.attempts[0]!.filesystems[0]!.planError!.err).toMatch(/not an array of steps/);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('D6 waiting for parents', () => {
  test('a child waits until its parent completed its first (full) step', async () => {
    const script = new Script(
      [fsWith('pool', [5, 6]), fsWith('pool/a', [1])],
      (kind, fs) => !(kind === 'step' && fs === 'pool'),
    );
    const r = replicate(config({ stepQueueConcurrency: 2 }), script);
    await until(() => script.pending.length === 1);
    expect(fsOf(r, 1)).toMatchObject({ state: 'stepping', blockedOn: 'parent-initial-repl' });
    script.find('step', 'pool', 's1').gate.resolve(undefined);
    await until(() => fsOf(r, 1).state === 'done');
    expect(fsOf(r, 0).currentStep).toBe(1);
    script.find('step', 'pool', 's2').gate.resolve(undefined);
    expect((await r.wait()).state).toBe('done');
  });

  test('a parent whose first step is incremental is present at once', async () => {
    const script = new Script(
      [fsWith('pool', [5], true), fsWith('pool/a', [1])],
      (kind, fs) => !(kind === 'step' && fs === 'pool'),
    );
    const r = replicate(config({ stepQueueConcurrency: 2 }), script);
    await until(() => fsOf(r, 1).state === 'done');
    script.find('step', 'pool').gate.resolve(undefined);
    await r.wait();
  });

  test('a parent with no steps is present; grandparents count too', async () => {
    const script = new Script(
      [fsWith('pool', [9]), { name: 'pool/mid', steps: [] }, fsWith('pool/mid/leaf', [1])],
      (kind, fs) => !(kind === 'step' && fs === 'pool'),
    );
    const r = replicate(config({ stepQueueConcurrency: 2 }), script);
    await until(() => script.pending.length === 1);
    // pool/mid has no steps but waits for pool itself (D6 applies to every fs).
    expect(fsOf(r, 1)).toMatchObject({ state: 'stepping', blockedOn: 'parent-initial-repl' });
    expect(fsOf(r, 2)).toMatchObject({ state: 'stepping', blockedOn: 'parent-initial-repl' });
    script.find('step', 'pool').gate.resolve(undefined);
    const report = await r.wait();
    expect(report.attempts[0]!.filesystems.map((f) => f.state)).toEqual(['done', 'done', 'done']);
  });

  test('a parent failing before it became present fails the children', async () => {
    const script = new Script([
      fsWith('pool', [1, 2]),
      fsWith('pool/a', [3]),
      fsWith('pool/a/b', [4]),
    ]);
    script.failures.set('step:pool:s1', new Error('recv failed'));
    const report = await replicate(config({ stepQueueConcurrency: 3 }), script).wait();
    const [pool, a, b] = report.attempts[0]!.filesystems;
    expect(pool!.stepError!.err).toBe('recv failed');
    expect(a!.stepError!.err).toBe('parent(s) failed during initial replication: pool');
    expect(b!.stepError!.err).toMatch(/^parent\(s\) failed during initial replication: pool/);
    expect(script.order(['step'])).toEqual(['pool@s1']);
  });

  test('a parent failing after it became present does not affect its children', async () => {
    const script = new Script([fsWith('pool', [1, 2]), fsWith('pool/a', [3])]);
    script.failures.set('step:pool:s2', new Error('late failure'));
    const report = await replicate(config({ stepQueueConcurrency: 2 }), script).wait();
    const [pool, a] = report.attempts[0]!.filesystems;
    expect(pool).toMatchObject({ state: 'step-error', currentStep: 1 });
    expect(a).toMatchObject({ state: 'done', stepError: null, currentStep: 1 });
  });
});

describe('D7 steps', () => {
  test('run strictly in order, and a rejection stops the fs with stepError', async () => {
    const script = new Script([fsWith('pool', [1, 2, 3, 4])]);
    script.failures.set('step:pool:s3', new Error('stream broke'));
    const report = await replicate(config({ stepQueueConcurrency: 4 }), script).wait();
    const fs = report.attempts[0]!.filesystems[0]!;
    expect(script.order(['step'])).toEqual(['pool@s1', 'pool@s2', 'pool@s3']);
    expect(fs).toMatchObject({ state: 'step-error', currentStep: 2, blockedOn: 'nothing' });
    expect(fs.stepError!.err).toBe('stream broke');
  });

  test('currentStep counts completed steps and equals steps.length when done', async () => {
    const script = new Script([fsWith('pool', [1, 2, 3])], (kind) => kind !== 'step');
    const r = replicate(config(), script);
    for (let i = 0; i < 3; i++) {
      await until(() => script.pending[0]?.step === `s${i + 1}`);
      expect(fsOf(r, 0)).toMatchObject({ state: 'stepping', currentStep: i, blockedOn: 'nothing' });
      script.pending[0]!.gate.resolve(undefined);
    }
    const fs = (await r.wait()).attempts[0]!.filesystems[0]!;
    expect(fs).toMatchObject({ state: 'done', currentStep: 3 });
    expect(fs.steps).toHaveLength(3);
  });
});
