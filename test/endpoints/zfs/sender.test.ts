import { finished } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  MINIMAL_CAPABILITIES,
  zfsSender,
  ZfsError,
  type ZfsCapabilities,
} from '../../../src/endpoints/zfs/index.js';
import { StaleResumeTokenError } from '../../../src/endpoints/stale-resume-token.js';
import { sendFailure } from '../../../src/endpoints/zfs/send-stream.js';
import { classifyError, StalePlanError } from '../../../src/index.js';
import { fakeExec, never, snap } from './fake-exec.js';

const OPENZFS: ZfsCapabilities = {
  ...MINIMAL_CAPABILITIES,
  poolVersion: 'feature-flags',
  bookmarks: true,
  resumeTokens: true,
  sendDryRun: true,
  recvProperties: true,
};

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A sender whose `zfs send` is the given sh script. */
function senderRunning(script: string, capabilities = MINIMAL_CAPABILITIES) {
  const exec = fakeExec(undefined, () => script);
  return { exec, sender: zfsSender({ root: 'tank/data', exec, capabilities }) };
}

describe('zfs send stream', () => {
  test('runs zfs send -i with full names below the root; the stream is its stdout', async () => {
    const { exec, sender } = senderRunning('head -c 100000 /dev/zero');
    const { stream, usedResumeToken } = await sender.send(
      { filesystem: 'home', from: snap('s1'), to: snap('s2') },
      never,
    );
    expect(usedResumeToken).toBe(false);
    expect((await readAll(stream)).length).toBe(100000);
    expect(exec.commands()).toEqual(['zfs send -i tank/data/home@s1 tank/data/home@s2']);
  });

  test("a non-zero exit makes the stream error with zfs's message (never a clean end)", async () => {
    const { sender } = senderRunning(
      'head -c 5000 /dev/zero; echo "cannot open \'tank/data/home@s9\': dataset does not exist" >&2; exit 1',
    );
    const { stream } = await sender.send({ filesystem: 'home', to: snap('s9') }, never);
    let ended = false;
    stream.on('end', () => (ended = true));
    const err = await readAll(stream).catch((e: unknown) => e);
    // A snapshot that does not exist is a stale plan (D13), with zfs's error as its cause.
    expect(err).toBeInstanceOf(StalePlanError);
    expect((err as StalePlanError).cause).toBeInstanceOf(ZfsError);
    expect((err as Error).message).toMatch(
      /exit code 1: cannot open 'tank\/data\/home@s9': dataset does not exist/,
    );
    expect(ended).toBe(false);
  });

  test('stderr output with exit 0 is an error too', async () => {
    const { sender } = senderRunning('printf abc; echo "warning: cannot send: Broken pipe" >&2');
    const { stream } = await sender.send({ filesystem: 'home', to: snap('s1') }, never);
    await expect(readAll(stream)).rejects.toThrow(/exit code 0: warning: cannot send: Broken pipe/);
  });

  test('abort mid-stream kills zfs send; the stream errors with the reason and closes after the process exited', async () => {
    const { exec, sender } = senderRunning('exec cat /dev/zero');
    const controller = new AbortController();
    const { stream } = await sender.send({ filesystem: 'home', to: snap('s1') }, controller.signal);
    await new Promise((resolve) => stream.once('data', resolve));
    const reason = new Error('user cancelled');
    controller.abort(reason);
    await expect(finished(stream)).rejects.toBe(reason);
    await new Promise((resolve) =>
      stream.closed ? resolve(undefined) : stream.once('close', resolve),
    );
    expect(exec.processes[0]?.hasExited()).toBe(true);
  });

  test('a consumer destroying the stream kills zfs send', async () => {
    const { exec, sender } = senderRunning('exec cat /dev/zero');
    const { stream } = await sender.send({ filesystem: 'home', to: snap('s1') }, never);
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    expect(exec.processes[0]?.hasExited()).toBe(true);
    await expect(exec.processes[0]?.exited).resolves.toMatchObject({ signal: 'SIGTERM' });
  });

  test('an aborted signal starts nothing', async () => {
    const { exec, sender } = senderRunning('exit 0');
    const controller = new AbortController();
    controller.abort(new Error('early'));
    await expect(
      sender.send({ filesystem: 'home', to: snap('s1') }, controller.signal),
    ).rejects.toThrow('early');
    expect(exec.calls).toEqual([]);
  });

  test('resume: zfs send -t token where supported', async () => {
    const { exec, sender } = senderRunning('printf x', OPENZFS);
    const { stream, usedResumeToken } = await sender.send(
      { filesystem: 'home', from: snap('s1'), to: snap('s2'), resumeToken: '1-abc-def' },
      never,
    );
    await readAll(stream);
    expect(usedResumeToken).toBe(true);
    expect(exec.commands()).toEqual(['zfs send -t 1-abc-def']);
  });

  test('resume whose snapshot the sender lost: the stream fails with a stale plan (D13) caused by a StaleResumeTokenError', async () => {
    const { sender } = senderRunning(
      `echo "cannot resume send: 'tank/data/home@s2' used in the initial send no longer exists" >&2`,
      OPENZFS,
    );
    const { stream } = await sender.send(
      { filesystem: 'home', from: snap('s1'), to: snap('s2'), resumeToken: '1-abc-def' },
      never,
    );
    const err = await readAll(stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StalePlanError);
    expect(classifyError(err)).toBe('stale-plan');
    const stale = (err as Error).cause;
    expect(stale).toBeInstanceOf(StaleResumeTokenError);
    expect(stale).toMatchObject({ filesystem: 'home', cause: expect.any(ZfsError) });
    expect((err as Error).message).toMatch(/home@s2' used in the initial send no longer exists/);
  });
});

describe('size estimates and completion', () => {
  test('without send -n -P (zfs-fuse) the estimate is 0 = unknown, and nothing runs', async () => {
    const exec = fakeExec();
    const sender = zfsSender({ root: 'tank', exec, capabilities: MINIMAL_CAPABILITIES });
    await expect(sender.sendDry({ filesystem: 'a', to: snap('s1') }, never)).resolves.toEqual({
      expectedSize: 0,
    });
    expect(exec.calls).toEqual([]);
  });

  test('with it: zfs send -n -v -P, the size line', async () => {
    const exec = fakeExec(() => ({ stdout: 'incremental\ts1\ttank/a@s2\t8192\nsize\t8192\n' }));
    const sender = zfsSender({ root: 'tank', exec, capabilities: OPENZFS });
    await expect(
      sender.sendDry({ filesystem: 'a', from: snap('s1'), to: snap('s2') }, never),
    ).resolves.toEqual({ expectedSize: 8192 });
    expect(exec.commands()).toEqual(['zfs send -n -v -P -i tank/a@s1 tank/a@s2']);
  });

  test('sendCompleted runs nothing where there are no holds and no bookmarks (zfs-fuse)', async () => {
    const exec = fakeExec();
    const sender = zfsSender({ root: 'tank', exec, capabilities: MINIMAL_CAPABILITIES });
    await sender.sendCompleted({ filesystem: 'a', to: snap('s1') }, never);
    expect(exec.calls).toEqual([]);
  });
});

describe('sender listing', () => {
  test('listFilesystems lists below the root, without placeholders', async () => {
    const T = '\t';
    const row = (name: string, type: string, placeholder = '-\t-') =>
      [
        `guid${T}1${T}-`,
        `createtxg${T}1${T}-`,
        `creation${T}1${T}-`,
        `type${T}${type}${T}-`,
        `xrepl:placeholder${T}${placeholder}`,
      ]
        .map((rest) => `${name}${T}${rest}`)
        .join('\n');
    const stdout = [
      row('tank/data', 'filesystem'),
      row('tank/data/ph', 'filesystem', `on${T}local`),
      row('tank/data/ph/child', 'filesystem', `on${T}inherited from tank/data/ph`),
      row('tank/data/ph/child@s1', 'snapshot'),
    ].join('\n');
    const exec = fakeExec(() => ({ stdout }));
    const sender = zfsSender({ root: 'tank/data', exec, capabilities: MINIMAL_CAPABILITIES });
    await expect(sender.listFilesystems(never)).resolves.toEqual([
      { path: '', isPlaceholder: false },
      { path: 'ph/child', isPlaceholder: false },
    ]);
  });

  test('listFilesystemVersions of a missing filesystem rejects clearly', async () => {
    const exec = fakeExec(() => ({
      exitCode: 1,
      stderr: "cannot open 'tank/data/nope': dataset does not exist\n",
    }));
    const sender = zfsSender({ root: 'tank/data', exec, capabilities: MINIMAL_CAPABILITIES });
    await expect(sender.listFilesystemVersions('nope', never)).rejects.toThrow(
      'filesystem "nope" does not exist (zfs dataset tank/data/nope)',
    );
  });

  test('waitForConnectivity lists the root', async () => {
    const exec = fakeExec(() => ({ stdout: 'tank/data\n' }));
    await zfsSender({ root: 'tank/data', exec }).waitForConnectivity(never);
    expect(exec.commands()).toEqual(['zfs list -H -o name tank/data']);
  });
});

describe('a send of a snapshot gone since planning (D13)', () => {
  const command = ['zfs', 'send', 'tank/a@s1'];
  const exit = (stderr: string) => ({ exitCode: 1, signal: null, stderr });

  test.each([
    ["cannot open 'tank/a@s1': dataset does not exist\n"],
    ['WARNING: could not send tank/a@s1: does not exist\n'],
  ])('%j is a stale plan, with zfs error as its cause', (stderr) => {
    const err = sendFailure(command, exit(stderr));
    expect(err).toBeInstanceOf(StalePlanError);
    expect(classifyError(err)).toBe('stale-plan');
    expect((err as StalePlanError).cause).toBeInstanceOf(ZfsError);
    expect(err!.message).toContain(stderr.trim());
  });

  test('any other failure stays a permanent ZfsError', () => {
    const err = sendFailure(command, exit('cannot send: permission denied\n'));
    expect(err).toBeInstanceOf(ZfsError);
    expect(classifyError(err)).toBe('permanent');
  });
});
