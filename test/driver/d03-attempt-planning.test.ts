import { replicate, type FS, type Planner } from '../../src/index.js';
import { Script, ScriptedFS, fsWith } from '../helpers/scripted.js';
import { config, temporary } from '../helpers/driver.js';

/** A planner returning `lists[i]` on attempt i, then failing temporarily if `fail[i]`. */
function planner(lists: FS[][], failFirst = true): Planner & { connectivity: number } {
  let attempt = 0;
  return {
    connectivity: 0,
    async plan() {
      return lists[Math.min(attempt++, lists.length - 1)] as FS[];
    },
    async waitForConnectivity() {
      this.connectivity++;
    },
    ...(failFirst ? {} : {}),
  };
}

/** An FS without correspondenceKey, matching previous fss by a custom predicate. */
function plainFs(
  name: string,
  matches: (other: string) => boolean,
  steps: (() => Promise<void>)[],
): FS {
  return {
    equalToPreviousAttempt: (other) => matches(other.reportInfo().name),
    planFS: async () =>
      steps.map((run, i) => ({
        targetEquals: () => true,
        targetDate: () => new Date(i),
        step: run,
        reportInfo: () => ({
          from: '',
          to: `s${i}`,
          resumed: false,
          bytesExpected: 0,
          bytesReplicated: 0,
        }),
      })),
    reportInfo: () => ({ name }),
  };
}

describe('D3 attempt planning', () => {
  test('a rejected plan() is a planning error with no filesystems', async () => {
    const report = await replicate(config(), {
      plan: async () => {
        throw new Error('cannot list');
      },
      waitForConnectivity: async () => {},
    }).wait();
    const [attempt] = report.attempts;
    expect(attempt!.state).toBe('planning-error');
    expect(attempt!.planError!.err).toBe('cannot list');
    expect(attempt!.filesystems).toEqual([]);
    expect(attempt!.finishAt).not.toBeNull();
  });

  test('plan() resolving to something that is not an array is a planning error, not a crash', async () => {
    for (const bogus of [null, 42, { length: 1 }, 'pool']) {
      const report = await replicate(config(), {
        plan: async () => bogus as never,
        waitForConnectivity: async () => {},
      }).wait();
      expect(report.state).toBe('failed');
      expect(report.attempts[0]!.planError!.err).toMatch(/not an array of filesystems/);
    }
  });

  test('ambiguous correspondences fail planning with one sorted line per fs', async () => {
    const fail = temporary();
    const first = [
      plainFs('pool/b', () => true, [async () => Promise.reject(fail)]),
      plainFs('pool/a', () => true, []),
    ];
    const second = [
      plainFs('pool/z', (n) => n === 'pool/a' || n === 'pool/b', []),
      plainFs('pool/c', (n) => n === 'pool/b', []),
      plainFs('pool/m', (n) => n === 'pool/b' || n === 'pool/a', []),
    ];
    const report = await replicate(config({ maxAttempts: 2 }), planner([first, second])).wait();
    expect(report.attempts).toHaveLength(2);
    expect(report.attempts[1]!.state).toBe('planning-error');
    expect(report.attempts[1]!.planError!.err).toBe(
      'cannot determine filesystem correspondences between different attempts:\n' +
        '  pool/m => [pool/b, pool/a]\n' +
        '  pool/z => [pool/b, pool/a]',
    );
  });

  test('with correspondenceKey everywhere, equalToPreviousAttempt is never called', async () => {
    const script = new Script([fsWith('pool', [1]), fsWith('pool/a', [2])]);
    let calls = 0;
    const original = ScriptedFS.prototype.equalToPreviousAttempt;
    ScriptedFS.prototype.equalToPreviousAttempt = function (other) {
      calls++;
      return original.call(this, other);
    };
    try {
      script.failures.set('step:pool/a:s1', temporary());
      script.waitForConnectivity = async () => script.failures.clear();
      const report1 = await replicate(config({ maxAttempts: 2 }), script).wait();
      expect(report1.state).toBe('done');
      expect(report1.attempts).toHaveLength(2);
      expect(calls).toBe(0);
    } finally {
      ScriptedFS.prototype.equalToPreviousAttempt = original;
    }
  });

  test.each([
    ['', 'empty name'],
    ['/pool', 'leading "/"'],
    ['pool/', 'trailing "/"'],
    ['pool//a', 'empty component'],
    ['pool/a@snap', '"@"'],
    ['pool/a#mark', '"#"'],
    ['pool/\u0007bell', 'control character'],
    ['pool/  /a', 'whitespace-only component'],
  ])('invalid name %j fails planning, quoting the name', async (name, problem) => {
    const report = await replicate(
      config(),
      new Script([fsWith('pool', [1]), fsWith(name, [2])]),
    ).wait();
    const err = report.attempts[0]!.planError!.err;
    expect(err).toContain(JSON.stringify(name));
    expect(err).toContain(problem);
    expect(report.attempts[0]!.filesystems).toEqual([]);
  });

  test('two filesystems with the same name fail planning, quoting it', async () => {
    const report = await replicate(
      config(),
      new Script([fsWith('pool/a', [1]), fsWith('pool/a', [2])]),
    ).wait();
    expect(report.attempts[0]!.planError!.err).toBe('duplicate filesystem name "pool/a"');
  });

  test('ancestry is component-wise: pool/a is a parent of pool/a/b/c, not of pool/ab', async () => {
    const script = new Script(
      [fsWith('pool/a', [5]), fsWith('pool/ab', [1]), fsWith('pool/a/b/c', [2])],
      (kind, fs) => !(kind === 'step' && fs === 'pool/a'),
    );
    const r = replicate(config({ stepQueueConcurrency: 2 }), script);
    const { until } = await import('../helpers/deferred.js');
    await until(() => r.report().attempts[0]?.filesystems[1]?.state === 'done');
    const fss = r.report().attempts[0]!.filesystems;
    expect(fss[2]!.blockedOn).toBe('parent-initial-repl');
    script.find('step', 'pool/a').gate.resolve(undefined);
    expect((await r.wait()).state).toBe('done');
  });
});
