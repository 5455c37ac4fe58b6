import { EventEmitter, getEventListeners, once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { ReplicationStep, type Transfer } from '../../src/planner/index.js';
import type { ReceiveReq } from '../../src/endpoints/types.js';
import { fakeReceiver, fakeSender, type FakeReceiver, type FakeSender } from './fakes.js';
import { v } from './helpers.js';

function stepOf(
  transfer: Transfer,
  sender: FakeSender = fakeSender(),
  receiver: FakeReceiver = fakeReceiver(),
): ReplicationStep {
  return new ReplicationStep({ sender, receiver, filesystem: 'pool/fs' }, transfer);
}

/** A sender whose send returns `stream` (and says whether it used a resume token). */
function sending(stream: Readable, usedResumeToken = false): FakeSender {
  const sender = fakeSender();
  sender.send.mockResolvedValue({ usedResumeToken, stream });
  return sender;
}

const grpcUnavailable = (): Error =>
  Object.assign(new Error('14 UNAVAILABLE: gone'), { code: 14, details: 'gone', metadata: {} });

describe('Step identity and report', () => {
  test('reportInfo has exactly from, to, resumed, bytesExpected, bytesReplicated; from is "" for a full send', () => {
    const step = stepOf({ to: v('a', 1) });
    step.bytesExpected = 42;
    expect(step.reportInfo()).toStrictEqual({
      from: '',
      to: 'a',
      resumed: false,
      bytesExpected: 42,
      bytesReplicated: 0,
    });
    expect(stepOf({ from: v('a', 1), to: v('b', 2), resumeToken: 't' }).reportInfo()).toStrictEqual(
      {
        from: 'a',
        to: 'b',
        resumed: true,
        bytesExpected: 0,
        bytesReplicated: 0,
      },
    );
  });

  test('targetDate is the creation of to, as a fresh Date', () => {
    const to = v('b', 2);
    const step = stepOf({ from: v('a', 1), to });
    expect(step.targetDate()).toEqual(to.creation);
    step.targetDate().setFullYear(1990);
    expect(step.targetDate()).toEqual(to.creation);
  });

  test.each<[string, Transfer, Transfer, boolean]>([
    [
      'same from and to guid',
      { from: v('a', 1), to: v('b', 2) },
      { from: v('a', 1), to: v('b', 2) },
      true,
    ],
    [
      'same guids under other names',
      { from: v('a', 1, 'G1'), to: v('b', 2, 'G2') },
      { from: v('x', 1, 'G1'), to: v('y', 2, 'G2') },
      true,
    ],
    ['other to', { from: v('a', 1), to: v('b', 2) }, { from: v('a', 1), to: v('c', 3) }, false],
    ['other from', { from: v('a', 1), to: v('c', 3) }, { from: v('b', 2), to: v('c', 3) }, false],
    [
      'full vs incremental to the same target',
      { to: v('b', 2) },
      { from: v('a', 1), to: v('b', 2) },
      false,
    ],
    ['both full sends of the same snapshot', { to: v('b', 2) }, { to: v('b', 2) }, true],
    [
      'a resumed step with the same to',
      { to: v('b', 2), resumeToken: 't' },
      { from: v('a', 1), to: v('b', 2) },
      true,
    ],
    [
      'a resumed step with another to',
      { from: v('a', 1), to: v('b', 2), resumeToken: 't' },
      { from: v('a', 1), to: v('c', 3) },
      false,
    ],
  ])('targetEquals: %s', (_name, a, b, equal) => {
    expect(stepOf(a).targetEquals(stepOf(b))).toBe(equal);
    expect(stepOf(b).targetEquals(stepOf(a))).toBe(equal);
  });

  test('targetEquals is false for a step of another implementation', () => {
    const foreign = {
      targetEquals: () => true,
      targetDate: () => new Date(),
      step: async () => {},
      reportInfo: () => stepOf({ to: v('b', 2) }).reportInfo(),
    };
    expect(stepOf({ to: v('b', 2) }).targetEquals(foreign)).toBe(false);
  });
});

describe('Step.step: send -> count -> receive -> sendCompleted', () => {
  test("every endpoint call gets the step's signal and the right request", async () => {
    const source = new PassThrough();
    source.end(Buffer.from('hello'));
    const sender = sending(source, true);
    const receiver = fakeReceiver();
    const step = stepOf({ from: v('a', 1), to: v('b', 2), resumeToken: 'tok' }, sender, receiver);
    const signal = new AbortController().signal;

    await step.step(signal);

    const req = { filesystem: 'pool/fs', from: v('a', 1), to: v('b', 2), resumeToken: 'tok' };
    expect(sender.send).toHaveBeenCalledWith(req, signal);
    expect(receiver.receive).toHaveBeenCalledWith(
      { filesystem: 'pool/fs', to: v('b', 2), clearResumeToken: false },
      expect.anything(),
      signal,
    );
    expect(sender.sendCompleted).toHaveBeenCalledWith(req, signal);
    // toHaveBeenCalledWith compares signals structurally: check it is the very signal.
    for (const seen of [
      sender.send.mock.calls[0]?.[1],
      receiver.receive.mock.calls[0]?.[2],
      sender.sendCompleted.mock.calls[0]?.[1],
    ]) {
      expect(seen).toBe(signal);
    }
    expect(step.reportInfo().bytesReplicated).toBe(5);
  });

  test('clearResumeToken when the sender did not use a resume token', async () => {
    const source = new PassThrough();
    source.end();
    const receiver = fakeReceiver();
    await stepOf({ to: v('a', 1) }, sending(source, false), receiver).step(
      new AbortController().signal,
    );
    expect(receiver.receive.mock.calls[0]?.[0].clearResumeToken).toBe(true);
  });

  test('bytesReplicated is live while the stream flows, and the bytes arrive unchanged', async () => {
    const source = new PassThrough();
    const seen = new EventEmitter();
    const received: Buffer[] = [];
    const receiver = fakeReceiver();
    receiver.receive.mockImplementation(async (_req: ReceiveReq, stream: Readable) => {
      for await (const chunk of stream) {
        received.push(chunk as Buffer);
        seen.emit('chunk');
      }
    });
    const step = stepOf({ to: v('a', 1) }, sending(source), receiver);
    const running = step.step(new AbortController().signal);

    const first = once(seen, 'chunk');
    source.write(Buffer.alloc(300, 1));
    await first;
    expect(step.reportInfo().bytesReplicated).toBe(300);
    const second = once(seen, 'chunk');
    source.write(Buffer.alloc(200, 2));
    await second;
    expect(step.reportInfo().bytesReplicated).toBe(500);
    source.end();
    await running;
    expect(Buffer.concat(received)).toEqual(
      Buffer.concat([Buffer.alloc(300, 1), Buffer.alloc(200, 2)]),
    );
  });

  test("a broken send stream rejects the step with the stream's own error object (its code kept)", async () => {
    const source = new PassThrough();
    const receiver = fakeReceiver();
    receiver.receive.mockImplementation(async (_req: ReceiveReq, stream: Readable) => {
      try {
        for await (const _chunk of stream);
      } catch (cause) {
        throw new Error('receive failed', { cause });
      }
    });
    const sender = sending(source);
    const step = stepOf({ to: v('a', 1) }, sender, receiver);
    const running = step.step(new AbortController().signal);
    const failure = grpcUnavailable();
    source.write('partial');
    source.destroy(failure);

    await expect(running).rejects.toBe(failure);
    expect(sender.sendCompleted).not.toHaveBeenCalled();
  });

  test('a receiver error rejects the step with it and destroys the send stream', async () => {
    const source = new PassThrough();
    const refusal = new Error('destination has been modified');
    const receiver = fakeReceiver();
    receiver.receive.mockRejectedValue(refusal);
    const sender = sending(source);

    await expect(
      stepOf({ from: v('a', 1), to: v('b', 2) }, sender, receiver).step(
        new AbortController().signal,
      ),
    ).rejects.toBe(refusal);
    expect(source.destroyed).toBe(true);
    expect(sender.sendCompleted).not.toHaveBeenCalled();
  });

  test('endpoint errors of send and sendCompleted propagate unchanged', async () => {
    const timeout = Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' });
    const sender = fakeSender();
    sender.send.mockRejectedValue(timeout);
    await expect(stepOf({ to: v('a', 1) }, sender).step(new AbortController().signal)).rejects.toBe(
      timeout,
    );

    const source = new PassThrough();
    source.end();
    const completing = sending(source);
    const unavailable = grpcUnavailable();
    completing.sendCompleted.mockRejectedValue(unavailable);
    await expect(
      stepOf({ to: v('a', 1) }, completing).step(new AbortController().signal),
    ).rejects.toBe(unavailable);
  });

  test('abort destroys both streams, rejects, and leaves no listener on the signal', async () => {
    const source = new PassThrough();
    const receiving = new EventEmitter();
    let counted: Readable | undefined;
    const receiver = fakeReceiver();
    // A receiver that ignores its signal: the step itself must end the transfer.
    receiver.receive.mockImplementation(async (_req: ReceiveReq, stream: Readable) => {
      counted = stream;
      receiving.emit('started');
      for await (const _chunk of stream);
    });
    const controller = new AbortController();
    const started = once(receiving, 'started');
    const running = stepOf({ to: v('a', 1) }, sending(source), receiver).step(controller.signal);
    await started;
    controller.abort(new Error('cancelled by test'));

    await expect(running).rejects.toThrow('cancelled by test');
    expect(source.destroyed).toBe(true);
    expect(counted?.destroyed).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test("a cancelled step settles only once the send stream has closed (the sender's cleanup done)", async () => {
    let cleanupDone!: () => void;
    const cleanup = new Promise<void>((resolve) => (cleanupDone = resolve));
    // Like the zfs sender's stream: destroyed, it closes after its holds are released.
    const source = new PassThrough({
      destroy(err, callback) {
        void cleanup.then(() => callback(err));
      },
    });
    const receiving = new EventEmitter();
    const receiver = fakeReceiver();
    receiver.receive.mockImplementation(async (_req: ReceiveReq, stream: Readable) => {
      receiving.emit('started');
      for await (const _chunk of stream);
    });
    const controller = new AbortController();
    const started = once(receiving, 'started');
    let settled = false;
    const running = stepOf({ to: v('a', 1) }, sending(source), receiver)
      .step(controller.signal)
      .finally(() => (settled = true));
    await started;
    controller.abort(new Error('cancelled by test'));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(source.closed).toBe(false);
    cleanupDone();
    await expect(running).rejects.toThrow('cancelled by test');
    expect(source.closed).toBe(true);
  });

  test('an error the send stream emits after the step settled does not crash', async () => {
    const source = new PassThrough();
    const receiver = fakeReceiver();
    receiver.receive.mockRejectedValue(new Error('refused'));
    await expect(
      stepOf({ to: v('a', 1) }, sending(source), receiver).step(new AbortController().signal),
    ).rejects.toThrow('refused');
    expect(() => source.emit('error', new Error('late'))).not.toThrow();
  });
});
