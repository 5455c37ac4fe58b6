import { Metadata, status } from '@grpc/grpc-js';
import { classifyError, replicate } from '../../src/index.js';
import { GRPC_UNAVAILABLE } from '../../src/errors/classify.js';
import { Script, fsWith } from '../helpers/scripted.js';
import { config, temporary, tickingClock } from '../helpers/driver.js';

const grpcError = (code: number, details = 'x') =>
  Object.assign(new Error(`${code} ${details}`), { code, details, metadata: new Metadata() });

describe('D9 errors', () => {
  describe('classifyError', () => {
    test('our UNAVAILABLE constant is @grpc/grpc-js status.UNAVAILABLE', () => {
      expect(GRPC_UNAVAILABLE).toBe(status.UNAVAILABLE);
    });

    test.each([
      ['gRPC UNAVAILABLE', grpcError(status.UNAVAILABLE), 'temporary-connectivity'],
      ['gRPC INTERNAL', grpcError(status.INTERNAL), 'permanent'],
      ['gRPC DEADLINE_EXCEEDED', grpcError(status.DEADLINE_EXCEEDED), 'permanent'],
      ['ETIMEDOUT', Object.assign(new Error('t'), { code: 'ETIMEDOUT' }), 'temporary-connectivity'],
      [
        'ESOCKETTIMEDOUT',
        Object.assign(new Error('t'), { code: 'ESOCKETTIMEDOUT' }),
        'temporary-connectivity',
      ],
      [
        'UND_ERR_CONNECT_TIMEOUT',
        Object.assign(new Error('t'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
        'temporary-connectivity',
      ],
      ['timeout: true', Object.assign(new Error('t'), { timeout: true }), 'temporary-connectivity'],
      ['timeout: "yes"', Object.assign(new Error('t'), { timeout: 'yes' }), 'permanent'],
      ['ECONNREFUSED', Object.assign(new Error('t'), { code: 'ECONNREFUSED' }), 'permanent'],
      ['code 14 without gRPC shape', Object.assign(new Error('t'), { code: 14 }), 'permanent'],
      ['a string', 'ETIMEDOUT', 'permanent'],
      ['null', null, 'permanent'],
      ['undefined', undefined, 'permanent'],
    ])('%s', (_, err, expected) => {
      expect(classifyError(err)).toBe(expected);
    });

    test('searches the cause chain (fetch puts UND_ERR_CONNECT_TIMEOUT on cause)', () => {
      const inner = Object.assign(new Error('connect'), { code: 'UND_ERR_CONNECT_TIMEOUT' });
      const outer = new TypeError('fetch failed', { cause: new Error('mid', { cause: inner }) });
      expect(classifyError(outer)).toBe('temporary-connectivity');
      expect(classifyError(new Error('a', { cause: grpcError(status.UNAVAILABLE) }))).toBe(
        'temporary-connectivity',
      );
    });

    test('a cyclic cause chain terminates', () => {
      const a = new Error('a');
      const b = new Error('b', { cause: a });
      (a as { cause?: unknown }).cause = b;
      expect(classifyError(a)).toBe('permanent');
    });
  });

  test('every error is recorded with its message and now(); a non-Error becomes its string form', async () => {
    const clock = tickingClock();
    const script = new Script([fsWith('pool/a', [1]), fsWith('pool/b', [2])]);
    script.failures.set('step:pool/a:s1', 'plain string failure');
    script.failures.set('step:pool/b:s1', 404);
    const report = await replicate(config(), script, { now: clock.now }).wait();
    const [a, b] = report.attempts[0]!.filesystems;
    expect(a!.stepError!.err).toBe('plain string failure');
    expect(b!.stepError!.err).toBe('404');
    expect(a!.stepError!.time.getTime()).toBeLessThan(b!.stepError!.time.getTime());
  });

  test('options.classifyError wins where it returns a class; undefined falls back', async () => {
    const run = async (
      classify: (e: unknown) => 'permanent' | 'temporary-connectivity' | undefined,
    ) => {
      const script = new Script([fsWith('pool', [1])]);
      script.failures.set('step:pool:s1', new Error('custom flake'));
      script.waitForConnectivity = async () => script.failures.clear();
      return replicate(config({ maxAttempts: 2 }), script, { classifyError: classify }).wait();
    };
    expect((await run(() => 'temporary-connectivity')).state).toBe('done');
    expect((await run(() => undefined)).state).toBe('failed');
  });

  test('the most recent error decides: newest by time, the last recorded among equal times', async () => {
    // Both fss fail at the same (frozen) time: the one recorded last decides.
    const frozen = () => new Date(Date.UTC(2026, 0, 1));
    const build = (firstTemporary: boolean) => {
      const script = new Script([fsWith('pool/a', [1]), fsWith('pool/b', [2])]);
      const temp = Object.assign(new Error('temp'), { code: 'ETIMEDOUT' });
      const perm = new Error('perm');
      script.failures.set('step:pool/a:s1', firstTemporary ? temp : perm);
      script.failures.set('step:pool/b:s1', firstTemporary ? perm : temp);
      return script;
    };
    const lastIsPermanent = await replicate(config({ maxAttempts: 2 }), build(true), {
      now: frozen,
    }).wait();
    expect(lastIsPermanent.state).toBe('failed');
    expect(lastIsPermanent.attempts).toHaveLength(1);
    const lastIsTemporary = build(false);
    lastIsTemporary.waitForConnectivity = async () => lastIsTemporary.failures.clear();
    const retried = await replicate(config({ maxAttempts: 2 }), lastIsTemporary, {
      now: frozen,
    }).wait();
    expect(retried.attempts).toHaveLength(2);
    expect(retried.state).toBe('done');
  });
  test('among equal times the error recorded last decides, not the last in plan order', async () => {
    // pool/b's step is older, so it runs (and fails permanently) first; then pool/a's step
    // fails with a dropped connection. Plan order (a, b) is the reverse of recording order.
    const frozen = () => new Date(Date.UTC(2026, 0, 1));
    const script = new Script([fsWith('pool/a', [2]), fsWith('pool/b', [1])]);
    script.failures.set('step:pool/b:s1', new Error('perm'));
    script.failures.set('step:pool/a:s1', temporary('connection dropped'));
    script.waitForConnectivity = async () => script.failures.clear();
    const report = await replicate(config({ maxAttempts: 2 }), script, { now: frozen }).wait();
    expect(script.order(['step']).slice(0, 2)).toEqual(['pool/b@s1', 'pool/a@s1']);
    expect(report.attempts).toHaveLength(2);
    expect(report.state).toBe('done');
  });

  test("a child failing because its parent dropped the connection inherits the parent's class: the run retries", async () => {
    const clock = tickingClock();
    const script = new Script([
      fsWith('pool', [1]),
      fsWith('pool/a', [2]),
      fsWith('pool/a/b', [3]),
    ]);
    script.failures.set('step:pool:s1', temporary('connection dropped'));
    script.waitForConnectivity = async () => script.failures.clear();
    const report = await replicate(config({ maxAttempts: 2 }), script, { now: clock.now }).wait();
    const first = report.attempts[0]!;
    const [, a, b] = first.filesystems;
    // The children's errors are recorded after the parent's, so they are the most recent (D9)...
    expect(a!.stepError!.err).toBe('parent(s) failed during initial replication: pool');
    expect(b!.stepError!.time.getTime()).toBeGreaterThan(
      first.filesystems[0]!.stepError!.time.getTime(),
    );
    // ...and still classified as the parent's temporary error, through `cause`.
    expect(report.attempts).toHaveLength(2);
    expect(report.state).toBe('done');
  });

  test('a child of a parent that failed permanently fails the run without retry', async () => {
    const script = new Script([fsWith('pool', [1]), fsWith('pool/a', [2])]);
    script.failures.set('step:pool:s1', new Error('disk full'));
    const report = await replicate(config({ maxAttempts: 2 }), script, {
      now: tickingClock().now,
    }).wait();
    expect(report.attempts).toHaveLength(1);
    expect(report.state).toBe('failed');
  });
});
