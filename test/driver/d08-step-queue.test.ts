import { createActor } from 'xstate';
import { replicate } from '../../src/index.js';
import { stepQueueLogic } from '../../machines/stepQueue.logic.js';
import { Script, fsWith, type FsSpec } from '../helpers/scripted.js';
import { config } from '../helpers/driver.js';
import { owners } from '../helpers/queue.js';

/** Fake owners that record the order in which they were granted. */

describe('D8 the step queue', () => {
  test('the example: a(2) b(10) c(20) and u(15) v(30) at concurrency 1 run a, b, u, c, v', async () => {
    const script = new Script([fsWith('pool/x', [2, 10, 20]), fsWith('pool/y', [15, 30])]);
    await replicate(config(), script).wait();
    expect(script.order(['step'])).toEqual([
      'pool/x@s1',
      'pool/x@s2',
      'pool/y@s1',
      'pool/x@s3',
      'pool/y@s2',
    ]);
  });

  test('never more than stepQueueConcurrency plannings and steps at once', async () => {
    const fss = Array.from({ length: 30 }, (_, i) => fsWith(`pool/f${i}`, [i, i + 40, i + 80]));
    for (const concurrency of [1, 3, 8]) {
      const script = new Script(fss);
      await replicate(config({ stepQueueConcurrency: concurrency }), script).wait();
      expect(script.maxRunning).toBe(concurrency);
    }
  });

  test('equal dates are admitted in request order; an invalid date sorts after every valid one', async () => {
    const fss: FsSpec[] = [
      { name: 'pool/invalid', steps: [{ to: 's1', date: new Date(NaN) }] },
      fsWith('pool/late', [1e12]),
      fsWith('pool/same1', [5]),
      fsWith('pool/same2', [5]),
    ];
    const script = new Script(fss);
    await replicate(config(), script).wait();
    expect(script.order(['step'])).toEqual([
      'pool/same1@s1',
      'pool/same2@s1',
      'pool/late@s1',
      'pool/invalid@s1',
    ]);
  });

  test('a targetDate() that throws is a step error of that fs only', async () => {
    const script = new Script([fsWith('pool/a', [1, 2]), fsWith('pool/b', [3])]);
    const { ScriptedStep } = await import('../helpers/scripted.js');
    const original = ScriptedStep.prototype.targetDate;
    const spy = jest.spyOn(ScriptedStep.prototype, 'targetDate').mockImplementation(function (
      this: InstanceType<typeof ScriptedStep>,
    ) {
      if (this.fsName === 'pool/a' && this.spec.to === 's2') throw new Error('no creation date');
      return original.call(this);
    });
    try {
      const report = await replicate(config(), script).wait();
      const [a, b] = report.attempts[0]!.filesystems;
      expect(a).toMatchObject({ state: 'step-error', currentStep: 1 });
      expect(a!.stepError!.err).toBe('no creation date');
      expect(b!.state).toBe('done');
    } finally {
      spy.mockRestore();
    }
  });

  // The date is read when the child planned, but decided on only once its parents are present:
  // the decision after waiting for parents must check it as the one after planning does.
  test('a targetDate() that throws is a step error also when the filesystem first waited for its parents', async () => {
    const script = new Script([
      fsWith('pool', [1]),
      { name: 'pool/a', steps: [{ to: 's1', date: 'throws' }] },
    ]);
    const report = await replicate(config(), script).wait();
    const [parent, child] = report.attempts[0]!.filesystems;
    expect(parent!.state).toBe('done');
    expect(child).toMatchObject({ state: 'step-error', currentStep: 0, blockedOn: 'nothing' });
    expect(child!.stepError!.err).toBe('no creation date for s1');
    expect(script.order()).toEqual(['planFS:pool', 'planFS:pool/a', 'pool@s1']);
  });

  describe('the logic alone', () => {
    test('plannings first, then dates, and the same-round rule on RELEASE', () => {
      const q = createActor(stepQueueLogic, { input: { concurrency: 1 } }).start();
      const { refs, granted } = owners(['x', 'y', 'p']);
      q.send({ type: 'REQUEST', owner: refs.x!, date: 2 });
      q.send({ type: 'REQUEST', owner: refs.y!, date: 15 });
      q.send({ type: 'REQUEST', owner: refs.p!, date: null });
      expect(granted).toEqual(['x']);
      q.send({ type: 'RELEASE', owner: refs.x!, next: 10 });
      expect(granted).toEqual(['x', 'p']); // the planning beats x's same-round request
      q.send({ type: 'RELEASE', owner: refs.p! });
      expect(granted).toEqual(['x', 'p', 'x']); // x(10) beats y(15)
      expect(q.getSnapshot().context).toMatchObject({ held: 1, waiting: 1 });
      q.stop();
    });

    test('a withdrawn waiter leaves at once; withdrawing a grant frees its slot', () => {
      const q = createActor(stepQueueLogic, { input: { concurrency: 1 } }).start();
      const { refs, granted } = owners(['a', 'b', 'c']);
      q.send({ type: 'REQUEST', owner: refs.a!, date: 1 });
      q.send({ type: 'REQUEST', owner: refs.b!, date: 2 });
      q.send({ type: 'REQUEST', owner: refs.c!, date: 3 });
      q.send({ type: 'WITHDRAW', owner: refs.b! });
      expect(q.getSnapshot().context).toMatchObject({ held: 1, waiting: 1 });
      q.send({ type: 'WITHDRAW', owner: refs.a! }); // granted, then cancelled
      expect(granted).toEqual(['a', 'c']);
      expect(q.getSnapshot().context).toMatchObject({ held: 1, waiting: 0 });
      q.send({ type: 'RELEASE', owner: refs.b! }); // b holds nothing: ignored
      expect(q.getSnapshot().context.held).toBe(1);
      q.stop();
    });
  });
});
