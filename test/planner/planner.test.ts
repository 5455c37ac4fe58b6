import { getEventListeners } from 'node:events';
import {
  createPlanner,
  EndpointUnreachableError,
  PlanningError,
  StaleResumeTokenError,
  type ReplicationStep,
} from '../../src/planner/index.js';
import type { FS } from '../../src/driver/types.js';
import { encodeResumeToken } from '../../src/endpoints/memory/index.js';
import { deferred, type Deferred } from '../helpers/deferred.js';
import { fakeReceiver, fakeSender, fs } from './fakes.js';
import { v } from './helpers.js';

const signal = (): AbortSignal => new AbortController().signal;
const grpcUnavailable = (): Error =>
  Object.assign(new Error('14 UNAVAILABLE: no route'), {
    code: 14,
    details: 'no route',
    metadata: {},
  });
const timedOut = (): Error =>
  Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:22'), { code: 'ETIMEDOUT' });

async function planOne(planner: ReturnType<typeof createPlanner>, path: string): Promise<FS> {
  const found = (await planner.plan(signal())).find((f) => f.reportInfo().name === path);
  if (!found) throw new Error(`no fs ${path}`);
  return found;
}

describe('plan', () => {
  test("one FS per sender filesystem, in the sender's order, with both listings under the signal", async () => {
    const sender = fakeSender([fs('b'), fs('a'), fs('a/x')]);
    const receiver = fakeReceiver([fs('a'), fs('other')]);
    const s = signal();
    const fss = await createPlanner(sender, receiver).plan(s);

    expect(fss.map((f) => f.reportInfo())).toStrictEqual([
      { name: 'b' },
      { name: 'a' },
      { name: 'a/x' },
    ]);
    expect(fss.map((f) => f.correspondenceKey?.())).toEqual(['b', 'a', 'a/x']);
    // Signals compare structurally in toHaveBeenCalledWith: check identity.
    expect(sender.listFilesystems.mock.calls[0]?.[0]).toBe(s);
    expect(receiver.listFilesystems.mock.calls[0]?.[0]).toBe(s);
  });

  test('equalToPreviousAttempt: same path', async () => {
    const planner = createPlanner(fakeSender([fs('a'), fs('b')]), fakeReceiver());
    const [a1, b1] = await planner.plan(signal());
    const [a2] = await planner.plan(signal());
    expect(a2!.equalToPreviousAttempt(a1!)).toBe(true);
    expect(a2!.equalToPreviousAttempt(b1!)).toBe(false);
  });

  test.each([
    ['sender', grpcUnavailable()],
    ['receiver', timedOut()],
  ])('a listing error of the %s propagates as the same object', async (side, err) => {
    const sender = fakeSender();
    const receiver = fakeReceiver();
    (side === 'sender' ? sender : receiver).listFilesystems.mockRejectedValue(err);
    await expect(createPlanner(sender, receiver).plan(signal())).rejects.toBe(err);
  });

  test.each([
    [{ initial: 'sometimes' as never }, /invalid initial replication policy "sometimes"/],
    [{ sizeEstimateConcurrency: 0 }, /invalid sizeEstimateConcurrency 0/],
    [{ sizeEstimateConcurrency: 1.5 }, /invalid sizeEstimateConcurrency 1.5/],
  ])('createPlanner refuses invalid options %j', (options, message) => {
    expect(() => createPlanner(fakeSender(), fakeReceiver(), options)).toThrow(message);
  });
});

describe('planFS', () => {
  test('a sender placeholder plans no steps and lists nothing', async () => {
    const sender = fakeSender([fs('p', { isPlaceholder: true })]);
    const receiver = fakeReceiver([fs('p', { isPlaceholder: true })]);
    expect(await (await planOne(createPlanner(sender, receiver), 'p')).planFS(signal())).toEqual(
      [],
    );
    expect(
      await (await planOne(createPlanner(sender, fakeReceiver()), 'p')).planFS(signal()),
    ).toEqual([]);
    expect(sender.listFilesystemVersions).not.toHaveBeenCalled();
  });

  test('a sender placeholder over a real receiver filesystem is a planning error', async () => {
    const planner = createPlanner(
      fakeSender([fs('p', { isPlaceholder: true })]),
      fakeReceiver([fs('p')]),
    );
    await expect((await planOne(planner, 'p')).planFS(signal())).rejects.toThrow(
      expect.objectContaining({
        kind: 'placeholder-conflict',
        message: expect.stringMatching(/^cannot replicate p: it is a placeholder on the sender/),
      }),
    );
  });

  test('a filesystem the receiver lacks: no receiver listing, initial replication', async () => {
    const sender = fakeSender([fs('a')], { a: [v('s1', 1), v('s2', 2)] });
    const receiver = fakeReceiver();
    const s = signal();
    const steps = await (await planOne(createPlanner(sender, receiver), 'a')).planFS(s);
    expect(steps.map((st) => st.reportInfo())).toStrictEqual([
      { from: '', to: 's2', resumed: false, bytesExpected: 1000, bytesReplicated: 0 },
    ]);
    expect(sender.listFilesystemVersions.mock.calls[0]).toEqual(['a', s]);
    expect(sender.listFilesystemVersions.mock.calls[0]?.[1]).toBe(s);
    expect(receiver.listFilesystemVersions).not.toHaveBeenCalled();
  });

  test("the receiver's versions are listed under the signal and give the incremental path", async () => {
    const sender = fakeSender([fs('a')], { a: [v('s1', 1), v('s2', 2), v('s3', 3)] });
    const receiver = fakeReceiver([fs('a')], { a: [v('s1', 1)] });
    const s = signal();
    const steps = await (await planOne(createPlanner(sender, receiver), 'a')).planFS(s);
    expect(steps.map((st) => `${st.reportInfo().from}->${st.reportInfo().to}`)).toEqual([
      's1->s2',
      's2->s3',
    ]);
    expect(receiver.listFilesystemVersions.mock.calls[0]?.[0]).toBe('a');
    expect(receiver.listFilesystemVersions.mock.calls[0]?.[1]).toBe(s);
  });

  test('a receiver resume token makes the first step resume it', async () => {
    const token = encodeResumeToken({
      fs: 'a',
      fromGuid: 'g-s1',
      toGuid: 'g-s2',
      toName: 's2',
      bytes: 7,
    });
    const sender = fakeSender([fs('a')], { a: [v('s1', 1), v('s2', 2), v('s3', 3)] });
    const resume = { fromGuid: 'g-s1', toGuid: 'g-s2' };
    const receiver = fakeReceiver([fs('a', { resumeToken: token, resume })], { a: [v('s1', 1)] });
    const steps = (await (
      await planOne(createPlanner(sender, receiver), 'a')
    ).planFS(signal())) as ReplicationStep[];
    expect(
      steps.map((st) => [st.reportInfo().from, st.reportInfo().to, st.reportInfo().resumed]),
    ).toEqual([
      ['s1', 's2', true],
      ['s2', 's3', false],
    ]);
    expect(steps[0]!.sendRequest().resumeToken).toBe(token);
    expect(sender.sendDry.mock.calls[0]?.[0]).toMatchObject({ resumeToken: token });
  });

  test('a resume token its receiver could not read is a planning error', async () => {
    const planner = createPlanner(
      fakeSender([fs('a')], { a: [v('s1', 1)] }),
      fakeReceiver([fs('a', { resumeToken: 'unreadable' })]),
    );
    await expect((await planOne(planner, 'a')).planFS(signal())).rejects.toBeInstanceOf(
      PlanningError,
    );
  });

  test("the receiver's own reading of its token is what the planner looks up", async () => {
    const sender = fakeSender([fs('a')], { a: [v('s1', 1), v('s2', 2)] });
    const receiver = fakeReceiver([
      fs('a', { resumeToken: 'native-token', resume: { toGuid: 'g-s1' } }),
    ]);
    const steps = (await (
      await planOne(createPlanner(sender, receiver), 'a')
    ).planFS(signal())) as ReplicationStep[];
    expect(steps.map((st) => st.reportInfo().to)).toEqual(['s1', 's2']);
    expect(steps[0]!.sendRequest().resumeToken).toBe('native-token');
  });

  test('a stale token with onStaleResumeToken clear: planned without it, the receive clears it', async () => {
    const sender = fakeSender([fs('a')], { a: [v('s1', 1), v('s3', 3)] });
    const receiver = fakeReceiver(
      [fs('a', { resumeToken: 'tok', resume: { fromGuid: 'g-s1', toGuid: 'g-s2' } })],
      { a: [v('s1', 1)] },
    );
    const planner = createPlanner(sender, receiver, { onStaleResumeToken: 'clear' });
    const steps = (await (await planOne(planner, 'a')).planFS(signal())) as ReplicationStep[];
    expect(steps.map((st) => [st.reportInfo().from, st.reportInfo().to, st.resumed])).toEqual([
      ['s1', 's3', false],
    ]);
    expect(steps[0]!.sendRequest().resumeToken).toBeUndefined();
  });

  test('a stale token by default: StaleResumeTokenError', async () => {
    const planner = createPlanner(
      fakeSender([fs('a')], { a: [v('s1', 1)] }),
      fakeReceiver([fs('a', { resumeToken: 'tok', resume: { toGuid: 'gone' } })]),
    );
    await expect((await planOne(planner, 'a')).planFS(signal())).rejects.toBeInstanceOf(
      StaleResumeTokenError,
    );
  });

  test('an unknown onStaleResumeToken policy is refused', () => {
    expect(() =>
      createPlanner(fakeSender([]), fakeReceiver([]), {
        onStaleResumeToken: 'keep' as 'fail',
      }),
    ).toThrow(/onStaleResumeToken "keep": use fail or clear/);
  });

  test.each([
    ['sender', grpcUnavailable()],
    ['receiver', timedOut()],
  ])('a version listing error of the %s propagates as the same object', async (side, err) => {
    const sender = fakeSender([fs('a')]);
    const receiver = fakeReceiver([fs('a')]);
    (side === 'sender' ? sender : receiver).listFilesystemVersions.mockRejectedValue(err);
    await expect(
      (await planOne(createPlanner(sender, receiver), 'a')).planFS(signal()),
    ).rejects.toBe(err);
  });
});

describe('size estimates', () => {
  const sixSnapshots = Array.from({ length: 6 }, (_, i) => v(`s${i}`, i + 1));

  async function inFlight(concurrency: number | undefined): Promise<number> {
    const sender = fakeSender([fs('a')], { a: sixSnapshots });
    const pending: Deferred<{ expectedSize: number }>[] = [];
    let running = 0;
    let max = 0;
    sender.sendDry.mockImplementation(async () => {
      running++;
      max = Math.max(max, running);
      const d = deferred<{ expectedSize: number }>();
      pending.push(d);
      try {
        return await d.promise;
      } finally {
        running--;
      }
    });
    const options = concurrency === undefined ? {} : { sizeEstimateConcurrency: concurrency };
    const planning = (
      await planOne(createPlanner(sender, fakeReceiver(), { initial: 'all', ...options }), 'a')
    ).planFS(signal());
    // Release estimates one at a time, each once the planner has started all it may.
    for (let released = 0; released < 6; released++) {
      while (pending.length <= released) await Promise.resolve();
      pending[released]!.resolve({ expectedSize: released + 1 });
    }
    const steps = await planning;
    expect(steps.map((st) => st.reportInfo().bytesExpected)).toEqual([1, 2, 3, 4, 5, 6]);
    return max;
  }

  test('run with bounded concurrency, 4 by default', async () => {
    expect(await inFlight(undefined)).toBe(4);
    expect(await inFlight(2)).toBe(2);
    expect(await inFlight(1)).toBe(1);
  });

  test('a failed or nonsensical estimate is 0 (unknown) and planning goes on; the signal reaches sendDry', async () => {
    const sender = fakeSender([fs('a')], { a: sixSnapshots.slice(0, 3) });
    sender.sendDry
      .mockRejectedValueOnce(grpcUnavailable())
      .mockResolvedValueOnce({ expectedSize: Number.NaN })
      .mockResolvedValueOnce({ expectedSize: 77 });
    const s = signal();
    const steps = await (
      await planOne(
        createPlanner(sender, fakeReceiver(), { initial: 'all', sizeEstimateConcurrency: 1 }),
        'a',
      )
    ).planFS(s);
    expect(steps.map((st) => st.reportInfo().bytesExpected)).toEqual([0, 0, 77]);
    expect(sender.sendDry.mock.calls.every(([, sig]) => sig === s)).toBe(true);
  });

  test('planning aborted during the estimates rejects', async () => {
    const controller = new AbortController();
    const sender = fakeSender([fs('a')], { a: sixSnapshots });
    sender.sendDry.mockImplementation(async () => {
      controller.abort(new Error('stop'));
      throw new Error('aborted');
    });
    const fsA = await planOne(
      createPlanner(sender, fakeReceiver(), { initial: 'all', sizeEstimateConcurrency: 1 }),
      'a',
    );
    await expect(fsA.planFS(controller.signal)).rejects.toThrow('stop');
    expect(sender.sendDry).toHaveBeenCalledTimes(1);
  });
});

describe('waitForConnectivity', () => {
  test('waits for both endpoints in parallel', async () => {
    const sender = fakeSender();
    const receiver = fakeReceiver();
    const s = deferred();
    const r = deferred();
    sender.waitForConnectivity.mockReturnValue(s.promise);
    receiver.waitForConnectivity.mockReturnValue(r.promise);
    let resolved = false;
    const waiting = createPlanner(sender, receiver)
      .waitForConnectivity(signal())
      .then(() => (resolved = true));
    await Promise.resolve();
    expect(sender.waitForConnectivity).toHaveBeenCalledTimes(1);
    expect(receiver.waitForConnectivity).toHaveBeenCalledTimes(1);
    r.resolve();
    await Promise.resolve();
    expect(resolved).toBe(false);
    s.resolve();
    await waiting;
    expect(resolved).toBe(true);
  });

  test.each([
    ['sender', grpcUnavailable(), { code: 14, details: 'no route', metadata: {} }],
    ['receiver', timedOut(), { code: 'ETIMEDOUT' }],
  ] as const)(
    'an unreachable %s is named; the original error is the cause and its code is kept',
    async (side, original, shape) => {
      const sender = fakeSender();
      const receiver = fakeReceiver();
      const failing = side === 'sender' ? sender : receiver;
      const other = side === 'sender' ? receiver : sender;
      failing.waitForConnectivity.mockRejectedValue(original);
      let otherSignal: AbortSignal | undefined;
      other.waitForConnectivity.mockImplementation(
        (sig: AbortSignal) =>
          new Promise<void>((_resolve, reject) => {
            otherSignal = sig;
            sig.addEventListener('abort', () => reject(sig.reason), { once: true });
          }),
      );
      const err = await createPlanner(sender, receiver)
        .waitForConnectivity(signal())
        .catch((e: unknown) => e);

      expect(err).toBeInstanceOf(EndpointUnreachableError);
      expect(err).toMatchObject({ side, cause: original, ...shape });
      expect((err as Error).message).toBe(`${side} is unreachable: ${original.message}`);
      expect(otherSignal?.aborted).toBe(true);
    },
  );

  test("an abort rejects unwrapped and leaves no listener on the caller's signal", async () => {
    const controller = new AbortController();
    const hang = (sig: AbortSignal): Promise<void> =>
      new Promise((_resolve, reject) =>
        sig.addEventListener('abort', () => reject(sig.reason), { once: true }),
      );
    const sender = fakeSender();
    const receiver = fakeReceiver();
    sender.waitForConnectivity.mockImplementation(hang);
    receiver.waitForConnectivity.mockImplementation(hang);
    const waiting = createPlanner(sender, receiver).waitForConnectivity(controller.signal);
    const reason = new Error('cancelled');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
