/** Counterexamples found by the property suite, shrunk to named tests. */
import { replicate } from '../../src/index.js';
import { Script, fsWith } from '../helpers/scripted.js';
import { config } from '../helpers/driver.js';

describe('D10: a signal that aborts inside a planner call', () => {
  // The abort happens while the driver is still handing out slots in the same synchronous burst:
  // the CANCEL it sends waits in the busy attempt's mailbox while further grants reach
  // filesystems. Their planFS/step actors (src/driver/actors.ts) see the aborted signal and
  // reject with its reason without calling the planner: the filesystem records the
  // cancellation as its planError/stepError, as for every other waiter (D10).
  test('no planning starts after the run is cancelled inside another planning', async () => {
    const controller = new AbortController();
    const script = new Script([fsWith('pool/a', [1]), fsWith('pool/b', [1])], (kind, fs) => {
      if (kind === 'planFS' && fs === 'pool/a') controller.abort(new Error('stop'));
      return true;
    });
    const report = await replicate(config({ stepQueueConcurrency: 2 }), script, {
      signal: controller.signal,
    }).wait();
    expect(report.state).toBe('cancelled');
    expect(script.order()).toEqual(['planFS:pool/a']);
    expect(report.attempts[0]!.filesystems[1]!.planError?.err).toBe('stop');
  });

  test('no step starts after the run is cancelled inside a sibling step', async () => {
    const controller = new AbortController();
    const script = new Script(
      [fsWith('pool', [1]), fsWith('pool/a', [1]), fsWith('pool/b', [1])],
      (kind, fs) => {
        if (kind === 'step' && fs === 'pool/a') controller.abort(new Error('stop'));
        return true;
      },
    );
    const report = await replicate(config({ stepQueueConcurrency: 3 }), script, {
      signal: controller.signal,
    }).wait();
    expect(report.state).toBe('cancelled');
    // pool's first step makes it present; both children are woken in one burst.
    expect(script.order(['step'])).toEqual(['pool@s1', 'pool/a@s1']);
    expect(report.attempts[0]!.filesystems[2]!.stepError?.err).toBe('stop');
  });
});
