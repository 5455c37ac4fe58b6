import { replicate } from '../../src/index.js';
import { Script, fsWith } from '../helpers/scripted.js';
import { config, temporary } from '../helpers/driver.js';
import { until } from '../helpers/deferred.js';

describe('D10 cancellation', () => {
  test('running calls see the abort, waiters record it, the run ends cancelled after they settle', async () => {
    const controller = new AbortController();
    const script = new Script(
      [
        fsWith('pool', [1, 2]),
        fsWith('pool/a', [3]),
        fsWith('other', [4]),
        fsWith('late', [5]),
        fsWith('last', [6]),
      ],
      (kind) => kind === 'plan',
    );
    const pendingFs = () =>
      script.pending
        .map((c) => `${c.kind}:${c.fs}`)
        .sort()
        .join(' ');
    const r = replicate(config({ stepQueueConcurrency: 2 }), script, { signal: controller.signal });
    await until(() => pendingFs() === 'planFS:pool planFS:pool/a');
    script.find('planFS', 'pool').gate.resolve(undefined); // plannings first: other gets the slot
    await until(() => pendingFs() === 'planFS:other planFS:pool/a');
    script.find('planFS', 'pool/a').gate.resolve(undefined);
    await until(() => pendingFs() === 'planFS:late planFS:other');
    const running = [...script.pending];
    const before = r
      .report()
      .attempts[0]!.filesystems.map((f) => [f.info.name, f.state, f.blockedOn]);
    expect(before).toEqual([
      ['pool', 'stepping', 'repl-queue'],
      ['pool/a', 'stepping', 'parent-initial-repl'],
      ['other', 'planning', 'nothing'],
      ['late', 'planning', 'nothing'],
      ['last', 'planning', 'plan-queue'],
    ]);
    controller.abort(new Error('operator cancelled'));
    expect(running.every((c) => c.signal.aborted)).toBe(true);
    // Waiters stopped at once; the running calls have not settled: the run is still attempting.
    const during = r.report();
    expect(during.state).toBe('attempting');
    expect(during.attempts[0]!.filesystems.map((f) => f.state)).toEqual([
      'step-error',
      'step-error',
      'planning',
      'planning',
      'planning-error',
    ]);
    for (const c of running) c.gate.reject(c.signal.reason);
    const report = await r.wait();
    expect(report.state).toBe('cancelled');
    expect(report.finishAt).not.toBeNull();
    const fss = report.attempts[0]!.filesystems;
    expect(fss.map((f) => [f.state, f.blockedOn])).toEqual([
      ['step-error', 'nothing'],
      ['step-error', 'nothing'],
      ['planning-error', 'nothing'],
      ['planning-error', 'nothing'],
      ['planning-error', 'nothing'],
    ]);
    expect(fss.map((f) => (f.planError ?? f.stepError)!.err)).toEqual(
      Array(5).fill('operator cancelled'),
    );
    // No new planning or step started after the abort.
    expect(script.log.filter((c) => c.kind !== 'plan')).toHaveLength(4);
  });

  test('a call that ignores its signal delays the end only until it settles', async () => {
    const controller = new AbortController();
    const script = new Script([fsWith('pool', [1, 2])], (kind) => kind !== 'step');
    const r = replicate(config(), script, { signal: controller.signal });
    await until(() => script.pending.length === 1);
    controller.abort();
    let ended = false;
    void r.wait().then(() => (ended = true));
    await until(() => r.report().state === 'attempting' && !ended);
    script.pending[0]!.gate.resolve(undefined); // succeeds regardless
    const report = await r.wait();
    expect(report.state).toBe('cancelled');
    const fs = report.attempts[0]!.filesystems[0]!;
    expect(fs).toMatchObject({ state: 'step-error', currentStep: 1 });
    expect(script.order(['step'])).toEqual(['pool@s1']);
  });

  test('a signal already aborted ends the run cancelled with no attempt', async () => {
    const script = new Script([fsWith('pool', [1])]);
    const report = await replicate(config(), script, { signal: AbortSignal.abort() }).wait();
    expect(report.state).toBe('cancelled');
    expect(report.attempts).toEqual([]);
    expect(script.log).toHaveLength(0);
  });

  test('a plan() that resolves after cancellation records the cancellation as planError', async () => {
    const controller = new AbortController();
    const script = new Script([fsWith('pool', [1])], (kind) => kind !== 'plan');
    const r = replicate(config(), script, { signal: controller.signal });
    await until(() => script.pending.length === 1);
    controller.abort(new Error('stop now'));
    script.find('plan').gate.resolve(undefined);
    const report = await r.wait();
    expect(report.state).toBe('cancelled');
    expect(report.attempts[0]!.state).toBe('planning-error');
    expect(report.attempts[0]!.planError!.err).toBe('stop now');
    expect(script.log.map((c) => c.kind)).toEqual(['plan']);
  });

  test('cancelling while waiting for reconnect aborts waitForConnectivity and ends cancelled', async () => {
    const controller = new AbortController();
    const script = new Script([fsWith('pool', [1])], (kind) => kind !== 'waitForConnectivity');
    script.failures.set('step:pool:s1', temporary());
    const r = replicate(config({ maxAttempts: 3, reconnectHardFailTimeoutMs: 60_000 }), script, {
      signal: controller.signal,
    });
    await until(() => r.report().state === 'waiting-reconnect' && script.pending.length === 1);
    const call = script.find('waitForConnectivity');
    controller.abort();
    expect(call.signal.aborted).toBe(true);
    const report = await r.wait();
    expect(report.state).toBe('cancelled');
    expect(report.attempts).toHaveLength(1);
  });

  test('a queued waiter leaves the queue at once when cancelled', async () => {
    const controller = new AbortController();
    const script = new Script(
      [fsWith('pool/a', [1]), fsWith('pool/b', [2])],
      (kind) => kind !== 'step',
    );
    const r = replicate(config(), script, { signal: controller.signal });
    await until(() => script.pending.length === 1);
    expect(r.report().attempts[0]!.filesystems[1]!.blockedOn).toBe('repl-queue');
    controller.abort();
    const snapshot = r.report().attempts[0]!.filesystems[1]!;
    expect(snapshot).toMatchObject({ state: 'step-error', blockedOn: 'nothing' });
    script.pending[0]!.gate.reject(new Error('aborted'));
    expect((await r.wait()).state).toBe('cancelled');
  });
});
