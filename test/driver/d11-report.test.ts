import { ReportSchema, replicate, type Step } from '../../src/index.js';
import { Script, ScriptedStep, fsWith } from '../helpers/scripted.js';
import { config, temporary, tickingClock } from '../helpers/driver.js';
import { until } from '../helpers/deferred.js';

describe('D11 reports', () => {
  test('attempt states follow the attempt: planning, fan-out-filesystems, done', async () => {
    const script = new Script([fsWith('pool', [1])], (kind) => kind !== 'plan' && kind !== 'step');
    const r = replicate(config(), script);
    await until(() => script.pending.length === 1);
    expect(r.report().attempts[0]).toMatchObject({
      state: 'planning',
      finishAt: null,
      filesystems: [],
    });
    script.find('plan').gate.resolve(undefined);
    await until(() => script.pending.some((c) => c.kind === 'step'));
    expect(r.report().attempts[0]).toMatchObject({ state: 'fan-out-filesystems', finishAt: null });
    script.find('step').gate.resolve(undefined);
    const report = await r.wait();
    expect(report.attempts[0]!.state).toBe('done');
    expect(report.attempts[0]!.finishAt).toBeInstanceOf(Date);
  });

  test('filesystem-error once all ended and any fs has an error; finishAt also after planning-error', async () => {
    const script = new Script([fsWith('pool/a', [1]), fsWith('pool/b', [2])]);
    script.failures.set('step:pool/a:s1', new Error('boom'));
    const report = await replicate(config(), script).wait();
    expect(report.attempts[0]!.state).toBe('filesystem-error');
    const failedPlan = await replicate(config(), {
      plan: async () => Promise.reject(new Error('x')),
      waitForConnectivity: async () => {},
    }).wait();
    expect(failedPlan.attempts[0]!.finishAt).toBeInstanceOf(Date);
  });

  test('step infos are read live on every call, never cached', async () => {
    const script = new Script([fsWith('pool', [1])], (kind) => kind !== 'step');
    const r = replicate(config(), script);
    await until(() => script.pending.length === 1);
    const step = r.actor
      .getSnapshot()
      .context.attempts[0]!.getSnapshot()
      .context.filesystems[0]!.getSnapshot().context.steps![0] as ScriptedStep;
    expect(r.report().attempts[0]!.filesystems[0]!.steps[0]!.info.bytesReplicated).toBe(0);
    step.bytesReplicated = 1234;
    expect(r.report().attempts[0]!.filesystems[0]!.steps[0]!.info.bytesReplicated).toBe(1234);
    step.bytesReplicated = 99;
    expect(r.report().attempts[0]!.filesystems[0]!.steps[0]!.info.bytesReplicated).toBe(99);
    script.pending[0]!.gate.resolve(undefined);
    await r.wait();
  });

  test('info objects hold exactly the documented fields', async () => {
    const script = new Script([fsWith('pool', [1])]);
    const { ScriptedFS } = await import('../helpers/scripted.js');
    const fsInfo = jest
      .spyOn(ScriptedFS.prototype, 'reportInfo')
      .mockReturnValue({ name: 'pool', extra: 1 } as never);
    const stepInfo = jest.spyOn(ScriptedStep.prototype, 'reportInfo').mockReturnValue({
      from: '',
      to: 's1',
      resumed: false,
      bytesExpected: 5,
      bytesReplicated: 5,
      secret: 'x',
    } as never);
    try {
      const report = await replicate(config(), script).wait();
      const fs = report.attempts[0]!.filesystems[0]!;
      expect(Object.keys(fs.info)).toEqual(['name']);
      expect(Object.keys(fs.steps[0]!.info).sort()).toEqual([
        'bytesExpected',
        'bytesReplicated',
        'from',
        'resumed',
        'to',
      ]);
      expect(Object.keys(fs).sort()).toEqual([
        'blockedOn',
        'currentStep',
        'info',
        'planError',
        'replans',
        'retries',
        'retryAt',
        'retryError',
        'state',
        'stepError',
        'steps',
      ]);
    } finally {
      fsInfo.mockRestore();
      stepInfo.mockRestore();
    }
  });

  test('a report is a fresh plain object: mutating it changes nothing inside', async () => {
    const clock = tickingClock();
    const r = replicate(config(), new Script([fsWith('pool', [1])]), { now: clock.now });
    const report = await r.wait();
    const startAt = report.startAt.getTime();
    report.startAt.setTime(0);
    report.attempts[0]!.filesystems[0]!.info.name = 'hacked';
    report.attempts[0]!.filesystems.pop();
    report.attempts.pop();
    const again = r.report();
    expect(again.startAt.getTime()).toBe(startAt);
    expect(again.attempts[0]!.filesystems[0]!.info.name).toBe('pool');
    expect(again).not.toBe(r.report());
  });

  test('JSON round-trips through ReportSchema with Dates', async () => {
    const script = new Script([fsWith('pool', [1]), fsWith('pool/a', [2])]);
    script.failures.set('step:pool/a:s1', temporary());
    script.waitForConnectivity = async () => script.failures.clear();
    const report = await replicate(config({ maxAttempts: 2 }), script).wait();
    const parsed = ReportSchema.parse(JSON.parse(JSON.stringify(report)));
    expect(parsed).toEqual(report);
    expect(parsed.attempts[0]!.filesystems[1]!.stepError!.time).toBeInstanceOf(Date);
    expect(() =>
      ReportSchema.parse({ ...JSON.parse(JSON.stringify(report)), state: 'bogus' }),
    ).toThrow();
  });

  test('a step whose reportInfo throws does not break report()', async () => {
    const bad: Step = {
      targetEquals: () => false,
      targetDate: () => new Date(1),
      step: async () => {},
      reportInfo: () => {
        throw new Error('no info');
      },
    };
    const report = await replicate(config(), {
      plan: async () => [
        {
          equalToPreviousAttempt: () => false,
          planFS: async () => [bad],
          reportInfo: () => ({ name: 'p' }),
        },
      ],
      waitForConnectivity: async () => {},
    }).wait();
    expect(report.state).toBe('done');
    expect(report.attempts[0]!.filesystems[0]!.steps[0]!.info.to).toBe('');
  });
});
