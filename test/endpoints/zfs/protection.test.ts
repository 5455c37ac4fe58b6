/**
 * On OpenZFS the sender protects the incremental base (step holds, the replication cursor) and
 * sends with the options that keep data safe and small; the receiver holds the newest received
 * snapshot. Scripted zfs: each test reads the exact argv.
 */
import { finished } from 'node:stream/promises';
import { Readable } from 'node:stream';
import {
  MINIMAL_CAPABILITIES,
  zfsReceiver,
  zfsSender,
  type ZfsCapabilities,
} from '../../../src/endpoints/zfs/index.js';
import type { FilesystemVersion } from '../../../src/endpoints/types.js';
import { fakeExec, type FakeAnswer, never } from './fake-exec.js';

const T = '\t';
const OPENZFS: ZfsCapabilities = {
  poolVersion: 'feature-flags',
  bookmarks: true,
  resumeTokens: true,
  sendDryRun: true,
  recvProperties: true,
  holds: true,
  encryption: true,
  sendFlags: 'DLPRVbcehnpvw',
};
const LIST_PROPS =
  '-o name,property,value,source guid,createtxg,creation,type,xrepl:placeholder,receive_resume_token,userrefs';

const version = (
  name: string,
  guid: string,
  txg: string,
  type: FilesystemVersion['type'] = 'snapshot',
) => ({ type, name, guid, createTxg: txg, creation: new Date(0) }) as FilesystemVersion;
const s1 = version('s1', '11', '10');
const s2 = version('s2', '22', '20');

/** `zfs get` rows of one dataset (listing with userrefs). */
function rows(name: string, type: string, guid: string, txg: string, userrefs = '-'): string {
  return [
    `guid${T}${guid}${T}-`,
    `createtxg${T}${txg}${T}-`,
    `creation${T}1${T}-`,
    `type${T}${type}${T}-`,
    `xrepl:placeholder${T}-${T}-`,
    `receive_resume_token${T}-${T}-`,
    `userrefs${T}${userrefs}${T}-`,
  ]
    .map((rest) => `${name}${T}${rest}\n`)
    .join('');
}

/** A scripted OpenZFS: `answers` by command prefix, `encryption` of every dataset. */
function openzfs(answers: Record<string, FakeAnswer> = {}, encryption = 'off') {
  return (program: string, args: string[]): FakeAnswer => {
    const command = [program, ...args].join(' ');
    for (const [prefix, answer] of Object.entries(answers)) {
      if (command.startsWith(prefix)) return answer;
    }
    if (command.startsWith('zfs get -H -o value encryption')) return { stdout: `${encryption}\n` };
    return {};
  };
}

async function drain(stream: Readable): Promise<void> {
  stream.resume();
  await finished(stream);
}

describe('step holds and the replication cursor (OpenZFS)', () => {
  test('a step: holds on from and to, the send, then the cursor moved and the holds released', async () => {
    const exec = fakeExec(
      openzfs({
        'zfs get -Hp -r -d 1': {
          stdout:
            rows('tank/a', 'filesystem', '1', '1') +
            rows('tank/a@s1', 'snapshot', '11', '10', '1') +
            rows('tank/a@s2', 'snapshot', '22', '20', '1') +
            rows('tank/a#xrepl_cursor_default_11', 'bookmark', '11', '10') +
            rows('tank/a#xrepl_cursor_other_11', 'bookmark', '11', '10') +
            rows('tank/a#xrepl_cursor_default_22', 'bookmark', '22', '20'),
        },
      }),
      () => 'printf stream',
    );
    const sender = zfsSender({ root: 'tank', exec, capabilities: OPENZFS });
    const req = { filesystem: 'a', from: s1, to: s2 };
    const { stream } = await sender.send(req, never);
    await drain(stream);
    await sender.sendCompleted(req, never);
    expect(exec.commands()).toEqual([
      'zfs get -H -o value encryption tank/a',
      'zfs hold xrepl_step_default tank/a@s1',
      'zfs hold xrepl_step_default tank/a@s2',
      'zfs send -c -L -e -i tank/a@s1 tank/a@s2',
      'zfs bookmark tank/a@s2 tank/a#xrepl_cursor_default_22',
      `zfs get -Hp -r -d 1 ${LIST_PROPS} tank/a`,
      // only this job's older cursor goes: another job's stays
      'zfs destroy tank/a#xrepl_cursor_default_11',
      'zfs release xrepl_step_default tank/a@s1',
      'zfs release xrepl_step_default tank/a@s2',
    ]);
  });

  test('the job names the tags; a bookmark as incremental source is not held', async () => {
    const exec = fakeExec(openzfs(), () => 'printf x');
    const sender = zfsSender({ root: 'tank', exec, capabilities: OPENZFS, job: 'offsite' });
    const { stream } = await sender.send(
      { filesystem: 'a', from: version('xrepl_cursor_offsite_11', '11', '10', 'bookmark'), to: s2 },
      never,
    );
    await drain(stream);
    expect(exec.commands().slice(1)).toEqual([
      'zfs hold xrepl_step_offsite tank/a@s2',
      'zfs send -c -L -e -i tank/a#xrepl_cursor_offsite_11 tank/a@s2',
    ]);
  });

  test('a failed send releases its holds before its stream closes', async () => {
    const exec = fakeExec(openzfs(), () => 'printf abc; echo "cannot send: I/O error" >&2; exit 1');
    const sender = zfsSender({ root: 'tank', exec, capabilities: OPENZFS });
    const { stream } = await sender.send({ filesystem: 'a', from: s1, to: s2 }, never);
    stream.resume();
    await expect(finished(stream)).rejects.toThrow(/I\/O error/);
    // 'error' comes after the stream's _destroy, which waited for the release.
    expect(exec.commands().slice(-2)).toEqual([
      'zfs release xrepl_step_default tank/a@s1',
      'zfs release xrepl_step_default tank/a@s2',
    ]);
  });

  test('a cancelled step releases its holds before its stream closes', async () => {
    const exec = fakeExec(openzfs(), () => 'exec sleep 30');
    const sender = zfsSender({ root: 'tank', exec, capabilities: OPENZFS });
    const controller = new AbortController();
    const { stream } = await sender.send({ filesystem: 'a', to: s1 }, controller.signal);
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.on('error', () => {});
    controller.abort(new Error('cancelled'));
    await closed;
    expect(exec.commands().slice(-1)).toEqual(['zfs release xrepl_step_default tank/a@s1']);
  });

  test('a hold left by an earlier step of ours ("tag already exists") is fine', async () => {
    const exec = fakeExec(
      openzfs({
        'zfs hold': {
          exitCode: 1,
          stderr: "cannot hold snapshot 'tank/a@s1': tag already exists on this dataset\n",
        },
      }),
      () => 'printf x',
    );
    const sender = zfsSender({ root: 'tank', exec, capabilities: OPENZFS });
    const { stream } = await sender.send({ filesystem: 'a', to: s1 }, never);
    await drain(stream);
  });

  test('a hold zfs refuses fails the send before anything is sent', async () => {
    const exec = fakeExec(
      openzfs({
        'zfs hold': { exitCode: 1, stderr: "cannot hold 'tank/a@s1': permission denied\n" },
      }),
    );
    const sender = zfsSender({ root: 'tank', exec, capabilities: OPENZFS });
    await expect(sender.send({ filesystem: 'a', to: s1 }, never)).rejects.toThrow(
      /permission denied/,
    );
    expect(exec.calls.filter((c) => c.kind === 'start')).toEqual([]);
  });

  test("the first listing of a run releases this job's stale step holds, and only once", async () => {
    const listing =
      rows('tank', 'filesystem', '1', '1') +
      rows('tank/a', 'filesystem', '2', '1') +
      rows('tank/a@s1', 'snapshot', '11', '10', '2') +
      rows('tank/a@s2', 'snapshot', '22', '20', '0');
    const exec = fakeExec(
      openzfs({
        'zfs get -Hp -r': { stdout: listing },
        'zfs holds -H': {
          stdout: `tank/a@s1${T}xrepl_step_default${T}Thu Dec  3 13:25 2026\ntank/a@s1${T}keep${T}Thu Dec  3 13:25 2026\n`,
        },
      }),
    );
    const sender = zfsSender({ root: 'tank', exec, capabilities: OPENZFS });
    await expect(sender.listFilesystems(never)).resolves.toEqual([
      { path: '', isPlaceholder: false },
      { path: 'a', isPlaceholder: false },
    ]);
    await sender.listFilesystems(never);
    expect(exec.commands().filter((c) => !c.startsWith('zfs get'))).toEqual([
      'zfs holds -H tank/a@s1',
      'zfs release xrepl_step_default tank/a@s1',
    ]);
  });
});

describe('send options', () => {
  const sendWith = async (
    send: object,
    caps: ZfsCapabilities = OPENZFS,
    encryption = 'off',
  ): Promise<string[]> => {
    const exec = fakeExec(openzfs({}, encryption), () => 'printf x');
    const sender = zfsSender({ root: 'tank', exec, capabilities: { ...caps, holds: false }, send });
    const { stream } = await sender.send({ filesystem: 'a', to: s1 }, never);
    await drain(stream);
    return exec.commands().filter((c) => c.startsWith('zfs send'));
  };

  test('an encrypted dataset is sent raw by default, and -c -L -e are then left to -w', async () => {
    await expect(sendWith({}, OPENZFS, 'aes-256-gcm')).resolves.toEqual(['zfs send -w tank/a@s1']);
  });

  test('decrypted only when asked: raw false alone is refused, sendDecrypted allows it', async () => {
    await expect(sendWith({ raw: false }, OPENZFS, 'aes-256-gcm')).rejects.toThrow(
      /refusing to send encrypted tank\/a decrypted: .*--send-decrypted/,
    );
    await expect(sendWith({ sendDecrypted: true }, OPENZFS, 'aes-256-gcm')).resolves.toEqual([
      'zfs send -c -L -e tank/a@s1',
    ]);
  });

  test('options off, on, properties and backup properties', async () => {
    await expect(
      sendWith({ compressed: false, largeBlocks: false, embeddedData: false }),
    ).resolves.toEqual(['zfs send tank/a@s1']);
    await expect(
      sendWith({ raw: true, compressed: true, properties: true, backupProperties: true }),
    ).resolves.toEqual(['zfs send -w -c -p -b tank/a@s1']);
  });

  test('zfs-fuse: no flags by default; one asked for is an error naming the pool version', async () => {
    await expect(sendWith({}, MINIMAL_CAPABILITIES)).resolves.toEqual(['zfs send tank/a@s1']);
    await expect(sendWith({ compressed: true }, MINIMAL_CAPABILITIES)).rejects.toThrow(
      /compressed sends \(zfs send -c\) are not supported here: tank\/a is on pool version 23 and its zfs send offers only -DRp/,
    );
    await expect(sendWith({ raw: true }, MINIMAL_CAPABILITIES)).rejects.toThrow(
      /raw sends \(zfs send -w\)/,
    );
  });

  test('bad options are refused when the sender is made', () => {
    expect(() => zfsSender({ root: 'tank', send: { compresed: true } as object })).toThrow(
      /unknown zfs send option "compresed"/,
    );
    expect(() => zfsSender({ root: 'tank', send: { raw: true, sendDecrypted: true } })).toThrow(
      /contradict/,
    );
    expect(() => zfsSender({ root: 'tank', job: 'a b' })).toThrow(/invalid job name "a b"/);
  });

  test('size estimates use the same flags; a resumed send takes them from its token', async () => {
    const exec = fakeExec(openzfs({ 'zfs send -n': { stdout: 'size\t4096\n' } }));
    const sender = zfsSender({ root: 'tank', exec, capabilities: OPENZFS });
    await expect(sender.sendDry({ filesystem: 'a', from: s1, to: s2 }, never)).resolves.toEqual({
      expectedSize: 4096,
    });
    await sender.sendDry(
      { filesystem: 'a', from: version('c', '11', '10', 'bookmark'), to: s2 },
      never,
    );
    await sender.sendDry({ filesystem: 'a', from: s1, to: s2, resumeToken: '1-ab-cd-ef' }, never);
    expect(exec.commands().filter((c) => c.startsWith('zfs send'))).toEqual([
      'zfs send -n -v -P -c -L -e -i tank/a@s1 tank/a@s2',
      'zfs send -n -v -P -c -L -e -i tank/a#c tank/a@s2',
      'zfs send -n -v -P -t 1-ab-cd-ef',
    ]);
  });
});

describe('the receiver (OpenZFS)', () => {
  const existing =
    rows('b/a', 'filesystem', '2', '1') +
    rows('b/a@s0', 'snapshot', '5', '5', '0') +
    rows('b/a@s1', 'snapshot', '11', '10', '1');

  test('holds the newest received snapshot, releases the hold from the one before', async () => {
    const exec = fakeExec(openzfs({ 'zfs get -Hp': { stdout: existing } }));
    const receiver = zfsReceiver({ root: 'b', exec, capabilities: OPENZFS });
    await receiver.receive(
      { filesystem: 'a', to: s2, clearResumeToken: false },
      Readable.from([Buffer.from('x')]),
      never,
    );
    expect(exec.commands().slice(1)).toEqual([
      'zfs recv -u -s b/a@s2',
      'zfs hold xrepl_last_received_default b/a@s2',
      'zfs release xrepl_last_received_default b/a@s1',
    ]);
  });

  test('recvSet and recvExclude reach every receive as -o and -x, after the confinement', async () => {
    const exec = fakeExec(
      openzfs({
        'zfs get -Hp': { exitCode: 1, stderr: "cannot open 'b/n': dataset does not exist\n" },
      }),
    );
    const receiver = zfsReceiver({
      root: 'b',
      exec,
      capabilities: { ...OPENZFS, holds: false },
      recvSet: { canmount: 'off', compression: 'zstd' },
      recvExclude: ['mountpoint'],
    });
    await receiver.receive(
      { filesystem: 'n', to: s1, clearResumeToken: false },
      Readable.from([Buffer.from('x')]),
      never,
    );
    expect(exec.commands().filter((c) => c.startsWith('zfs recv'))).toEqual([
      'zfs recv -u -s -o canmount=off -o setuid=off -o exec=off -o devices=off -o compression=zstd -x mountpoint b/n@s1',
    ]);
  });

  test('recvSet or recvExclude where zfs recv has neither (zfs-fuse): a clear error', () => {
    const receiver = zfsReceiver({
      root: 'b',
      exec: fakeExec(),
      capabilities: MINIMAL_CAPABILITIES,
      recvExclude: ['mountpoint'],
    });
    return expect(
      receiver.receive(
        { filesystem: 'n', to: s1, clearResumeToken: false },
        Readable.from([Buffer.from('x')]),
        never,
      ),
    ).rejects.toThrow(/zfs recv -x is not supported here: pool version 23/);
  });

  test('bad property names and values are refused when the receiver is made', () => {
    expect(() => zfsReceiver({ root: 'b', recvSet: { 'a b': 'x' } })).toThrow(
      /property name "a b"/,
    );
    expect(() => zfsReceiver({ root: 'b', recvSet: { canmount: 'a\nb' } })).toThrow(
      /control character/,
    );
    expect(() => zfsReceiver({ root: 'b', recvExclude: ['-F'] })).toThrow(/property name "-F"/);
  });
});
