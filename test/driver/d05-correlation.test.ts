import { replicate } from '../../src/index.js';
import { Script, type FsSpec } from '../helpers/scripted.js';
import { config, temporary } from '../helpers/driver.js';

const steps = (fs: string, names: string[]): FsSpec => ({
  name: fs,
  steps: names.map((to, i) => ({
    from: i === 0 ? 'base' : names[i - 1],
    to,
    date: Number(to.slice(1)),
  })),
});

/** Attempt 1 plans `first` and fails temporarily at `failAt`; attempt 2 plans `second`. */
async function retry(first: FsSpec[], failAt: string, second: FsSpec[]) {
  const script = new Script(first);
  script.failures.set(failAt, temporary());
  script.waitForConnectivity = async () => {
    script.failures.clear();
    script.fss = second;
  };
  const report = await replicate(config({ maxAttempts: 2 }), script).wait();
  return { report, script };
}

describe('D5 correlation with the previous attempt', () => {
  test('the retry goes up to and including the previously planned target, not beyond', async () => {
    const { report, script } = await retry([steps('pool', ['s1', 's2', 's3'])], 'step:pool:s2', [
      steps('pool', ['s2', 's3', 's4']),
    ]);
    expect(report.state).toBe('done');
    const fs = report.attempts[1]!.filesystems[0]!;
    expect(fs.steps.map((s) => s.info.to)).toEqual(['s2', 's3']);
    expect(script.order(['step'])).toEqual(['pool@s1', 'pool@s2', 'pool@s2', 'pool@s3']);
  });

  test('no common target: planning error "cannot correlate ..."', async () => {
    const { report } = await retry([steps('pool', ['s1', 's2'])], 'step:pool:s1', [
      steps('pool', ['x7', 'x8']),
    ]);
    const fs = report.attempts[1]!.filesystems[0]!;
    expect(fs.state).toBe('planning-error');
    expect(fs.planError!.err).toBe('cannot correlate previously failed attempt to current plan');
  });

  test('a previous fs with nothing left keeps the new plan whole', async () => {
    const { report } = await retry(
      [steps('pool', ['s1', 's2', 's3', 's4']), steps('other', ['s9'])],
      'step:other:s9',
      [steps('pool', ['s2', 's3', 's5']), steps('other', ['s9'])],
    );
    // pool finished in attempt 1 (nothing left), so its new plan is kept whole.
    expect(report.attempts[1]!.filesystems[0]!.steps.map((s) => s.info.to)).toEqual([
      's2',
      's3',
      's5',
    ]);
  });

  test('a previous fs that failed planning does not constrain the new plan', async () => {
    const script = new Script([steps('pool', ['s1', 's2'])]);
    script.failures.set('planFS:pool:', temporary());
    script.waitForConnectivity = async () => {
      script.failures.clear();
      script.fss = [steps('pool', ['s5', 's6'])];
    };
    const report = await replicate(config({ maxAttempts: 2 }), script).wait();
    expect(report.state).toBe('done');
    expect(report.attempts[1]!.filesystems[0]!.steps.map((s) => s.info.to)).toEqual(['s5', 's6']);
  });

  test('the prefix of the new plan up to the match is kept when an older target matches', async () => {
    const { report } = await retry([steps('pool', ['s1', 's2', 's3'])], 'step:pool:s1', [
      steps('pool', ['s1', 's2', 's9']),
    ]);
    // prevLeft = s1 s2 s3; s3 is not in the new plan, s2 is: keep s1, s2.
    expect(report.attempts[1]!.filesystems[0]!.steps.map((s) => s.info.to)).toEqual(['s1', 's2']);
  });
});
