import { Readable } from 'node:stream';
import {
  MINIMAL_CAPABILITIES,
  zfsReceiver,
  ZfsError,
  type ZfsCapabilities,
} from '../../../src/endpoints/zfs/index.js';
import { pipeIntoRecv, stopProcess } from '../../../src/endpoints/zfs/recv-pipe.js';
import { fakeExec, missing, type FakeAnswer, never, snap } from './fake-exec.js';

const T = '\t';
const LIST =
  'zfs get -Hp -r -d 1 -o name,property,value,source guid,createtxg,creation,type,xrepl:placeholder';

/** `zfs get` rows of one dataset. */
function rows(name: string, type: string, placeholder = `-${T}-`): string {
  return [`guid${T}7${T}-`, `createtxg${T}3${T}-`, `creation${T}1${T}-`, `type${T}${type}${T}-`]
    .concat(`xrepl:placeholder${T}${placeholder}`)
    .map((rest) => `${name}${T}${rest}`)
    .join('\n');
}

/** What a placeholder's `zfs get -o property,value` says: untouched since its creation. */
const EMPTY_PLACEHOLDER = {
  mounted: 'no',
  canmount: 'off',
  referenced: '114688',
  'xrepl:placeholder-referenced': '114688',
};

/**
 * A fake zfs knowing which datasets exist (with their listing output); `created` datasets
 * exist from their `zfs create` on, with the size of an empty filesystem.
 */
function datasets(
  known: Record<string, string>,
  properties: Record<string, string> = EMPTY_PLACEHOLDER,
) {
  const created = new Set<string>();
  return (program: string, args: string[]): FakeAnswer => {
    const dataset = args.at(-1) ?? '';
    if (args[0] === 'create') created.add(dataset);
    if (args.join(' ') === `get -Hp -o value referenced ${dataset}`) {
      return created.has(dataset) ? { stdout: '114688\n' } : missing(dataset);
    }
    if (args[0] === 'get' && args[3] === 'property,value') {
      const rows = Object.entries(properties).map(([k, v]) => `${k}${T}${v}\n`);
      return { stdout: rows.join('') };
    }
    if (args[0] === 'get' || args[0] === 'list') {
      return dataset in known ? { stdout: known[dataset] } : missing(dataset);
    }
    return {};
  };
}

/** The commands confining a new filesystem where zfs recv has no -o (zfs-fuse). */
const confined = (dataset: string): string[] =>
  ['canmount=noauto', 'setuid=off', 'exec=off', 'devices=off'].map(
    (p) => `zfs set ${p} ${dataset}`,
  );

function bytes(n: number): Readable {
  return Readable.from([Buffer.alloc(n, 7)]);
}

describe('receive: which commands, in which order', () => {
  test('a new filesystem whose parent exists: zfs recv -u root/path@to, nothing else', async () => {
    const exec = fakeExec(datasets({ 'b/h/home': rows('b/h/home', 'filesystem') }));
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: MINIMAL_CAPABILITIES });
    await receiver.receive(
      { filesystem: 'home/alice', to: snap('s1'), clearResumeToken: false },
      bytes(1000),
      never,
    );
    expect(exec.commands()).toEqual([
      `${LIST} b/h/home/alice`,
      'zfs list -H -o name b/h/home',
      'zfs recv -u b/h/home/alice@s1',
      ...confined('b/h/home/alice'),
    ]);
  });

  test('missing parents become placeholders (canmount=off), top down, below the root only', async () => {
    const exec = fakeExec(datasets({ 'b/h': rows('b/h', 'filesystem') }));
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: MINIMAL_CAPABILITIES });
    await receiver.receive(
      { filesystem: 'x/y/z', to: snap('s1'), clearResumeToken: false },
      bytes(10),
      never,
    );
    expect(exec.commands()).toEqual([
      `${LIST} b/h/x/y/z`,
      'zfs list -H -o name b/h/x/y',
      'zfs list -H -o name b/h/x',
      'zfs list -H -o name b/h',
      'zfs create -o xrepl:placeholder=on -o canmount=off b/h/x',
      'zfs get -Hp -o value referenced b/h/x',
      'zfs set xrepl:placeholder-referenced=114688 b/h/x',
      'zfs create -o xrepl:placeholder=on -o canmount=off b/h/x/y',
      'zfs get -Hp -o value referenced b/h/x/y',
      'zfs set xrepl:placeholder-referenced=114688 b/h/x/y',
      'zfs recv -u b/h/x/y/z@s1',
      ...confined('b/h/x/y/z'),
    ]);
  });

  test('a missing root is an error, nothing is created outside it', async () => {
    const exec = fakeExec(datasets({}));
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: MINIMAL_CAPABILITIES });
    const stream = bytes(10);
    await expect(
      receiver.receive(
        { filesystem: 'x/y', to: snap('s1'), clearResumeToken: false },
        stream,
        never,
      ),
    ).rejects.toThrow('receiver root b/h does not exist; create it (zfs create -p b/h)');
    expect(
      exec.commands().filter((c) => !c.startsWith('zfs list') && !c.startsWith('zfs get')),
    ).toEqual([]);
    expect(stream.destroyed).toBe(true);
  });

  test('into an empty placeholder: its emptiness checked, recv -F, then the marks are cleared', async () => {
    const exec = fakeExec(datasets({ 'b/h/home': rows('b/h/home', 'filesystem', `on${T}local`) }));
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: MINIMAL_CAPABILITIES });
    await receiver.receive(
      { filesystem: 'home', to: snap('s1'), clearResumeToken: false },
      bytes(10),
      never,
    );
    expect(exec.commands()).toEqual([
      `${LIST} b/h/home`,
      'zfs get -Hp -o property,value mounted,canmount,referenced,xrepl:placeholder-referenced b/h/home',
      'zfs recv -u -F b/h/home@s1',
      ...confined('b/h/home'),
      'zfs inherit xrepl:placeholder b/h/home',
      'zfs inherit xrepl:placeholder-referenced b/h/home',
    ]);
  });

  test.each([
    ['written to since its creation', { referenced: '118784' }, /references 118784 bytes, 114688/],
    ['made mountable', { canmount: 'on' }, /canmount is on/],
    ['mounted', { mounted: 'yes' }, /it is mounted/],
  ])(
    'a placeholder %s: refused naming it, before any receive (nothing destroyed without a flag)',
    async (_what, changed, why) => {
      const exec = fakeExec(
        datasets(
          { 'b/h/home': rows('b/h/home', 'filesystem', `on${T}local`) },
          { ...EMPTY_PLACEHOLDER, ...changed },
        ),
      );
      const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: MINIMAL_CAPABILITIES });
      const stream = bytes(10);
      const failure = receiver.receive(
        { filesystem: 'home', to: snap('s1'), clearResumeToken: false },
        stream,
        never,
      );
      await expect(failure).rejects.toThrow(
        /^refusing to replace placeholder b\/h\/home with a full receive: it may hold data of its own/,
      );
      await expect(failure).rejects.toThrow(why);
      expect(exec.calls.filter((c) => c.kind === 'start')).toEqual([]);
      expect(stream.destroyed).toBe(true);
    },
  );

  test('a placeholder made by an older xrepl (no recorded size): empty while never mountable', async () => {
    const { 'xrepl:placeholder-referenced': _recorded, ...older } = EMPTY_PLACEHOLDER;
    const exec = fakeExec(
      datasets({ 'b/h/home': rows('b/h/home', 'filesystem', `on${T}local`) }, older),
    );
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: MINIMAL_CAPABILITIES });
    await receiver.receive(
      { filesystem: 'home', to: snap('s1'), clearResumeToken: false },
      bytes(10),
      never,
    );
    expect(exec.commands()).toContain('zfs recv -u -F b/h/home@s1');
  });

  test('into an existing filesystem: no -F, so zfs refuses a modified or diverged destination', async () => {
    const listing = `${rows('b/h/home', 'filesystem')}\n${rows('b/h/home@s1', 'snapshot')}`;
    const exec = fakeExec(datasets({ 'b/h/home': listing }));
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: MINIMAL_CAPABILITIES });
    await receiver.receive(
      { filesystem: 'home', to: snap('s2'), clearResumeToken: false },
      bytes(10),
      never,
    );
    expect(exec.commands()).toEqual([`${LIST} b/h/home`, 'zfs recv -u b/h/home@s2']);
  });

  test('resumable pools: recv -s; clearResumeToken aborts the partial receive first (recv -A)', async () => {
    const caps: ZfsCapabilities = {
      ...MINIMAL_CAPABILITIES,
      poolVersion: 'feature-flags',
      bookmarks: true,
      resumeTokens: true,
      sendDryRun: true,
      recvProperties: true,
    };
    const listing = [
      rows('b/h/home', 'filesystem'),
      `b/h/home${T}receive_resume_token${T}1-abc${T}-`,
    ].join('\n');
    const exec = fakeExec(datasets({ 'b/h/home': listing }));
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: caps });
    await receiver.receive(
      { filesystem: 'home', to: snap('s2'), clearResumeToken: true },
      bytes(10),
      never,
    );
    expect(exec.commands().slice(1)).toEqual([
      'zfs recv -A b/h/home',
      `${LIST},receive_resume_token b/h/home`,
      'zfs recv -u -s b/h/home@s2',
    ]);
  });

  test('recv -A of an interrupted full receive removes the filesystem: received anew, confined', async () => {
    const caps: ZfsCapabilities = {
      ...MINIMAL_CAPABILITIES,
      poolVersion: 'feature-flags',
      resumeTokens: true,
      recvProperties: true,
    };
    let aborted = false;
    const partial = [
      rows('b/h/home', 'filesystem'),
      `b/h/home${T}receive_resume_token${T}1-abc${T}-`,
    ].join('\n');
    const exec = fakeExec((program, args) => {
      if (args[0] === 'recv' && args[1] === '-A') aborted = true;
      if (args[0] === 'get') return aborted ? missing('b/h/home') : { stdout: partial };
      return {};
    });
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: caps });
    await receiver.receive(
      { filesystem: 'home', to: snap('s1'), clearResumeToken: true },
      bytes(10),
      never,
    );
    expect(exec.commands().slice(1)).toEqual([
      'zfs recv -A b/h/home',
      `${LIST},receive_resume_token b/h/home`,
      'zfs list -H -o name b/h',
      'zfs recv -u -s -o canmount=noauto -o setuid=off -o exec=off -o devices=off b/h/home@s1',
    ]);
  });
});

describe('receive failures', () => {
  test("zfs recv refusing: a ZfsError with zfs's words, the stream destroyed", async () => {
    const listing = `${rows('b/h/home', 'filesystem')}\n${rows('b/h/home@s1', 'snapshot')}`;
    const exec = fakeExec(
      datasets({ 'b/h/home': listing }),
      () =>
        'echo "cannot receive incremental stream: destination b/h/home has been modified" >&2; ' +
        'echo "since most recent snapshot" >&2; exit 1',
    );
    const receiver = zfsReceiver({ root: 'b/h', exec, capabilities: MINIMAL_CAPABILITIES });
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(65536));
      },
    });
    const failure = receiver.receive(
      { filesystem: 'home', to: snap('s2'), clearResumeToken: false },
      endless,
      never,
    );
    await expect(failure).rejects.toBeInstanceOf(ZfsError);
    await expect(failure).rejects.toThrow(
      'zfs recv -u b/h/home@s2: exit code 1: cannot receive incremental stream: destination b/h/home has been modified since most recent snapshot',
    );
    expect(endless.destroyed).toBe(true);
  });
});

describe('piping into zfs recv', () => {
  test('the source failing first: its own error, unchanged; recv has exited', async () => {
    const exec = fakeExec(
      undefined,
      () => 'cat > /dev/null; echo "cannot receive: invalid backup stream" >&2; exit 1',
    );
    const proc = exec.start('zfs', ['recv', '-u', 'b/x@s1']);
    const sourceError = Object.assign(new Error('connection dropped'), {
      code: 14,
      details: 'x',
      metadata: {},
    });
    let sent = 0;
    const source = new Readable({
      read() {
        sent += 1;
        if (sent === 3) this.destroy(sourceError);
        else this.push(Buffer.alloc(65536));
      },
    });
    await expect(pipeIntoRecv(proc, source, never)).rejects.toBe(sourceError);
    expect(proc.hasExited()).toBe(true);
  });

  test('abort: rejects with the reason once recv is gone; stdin was closed, so zfs discards', async () => {
    const exec = fakeExec(undefined, () => 'cat > /dev/null; exit 1');
    const proc = exec.start('zfs', ['recv', '-u', 'b/x@s1']);
    const controller = new AbortController();
    let reads = 0;
    const source = new Readable({
      read() {
        // Abort mid-stream, once zfs recv has been fed a few chunks.
        if (++reads === 4) controller.abort(new Error('user cancelled'));
        this.push(Buffer.alloc(65536));
      },
    });
    await expect(pipeIntoRecv(proc, source, controller.signal)).rejects.toThrow('user cancelled');
    expect(proc.hasExited()).toBe(true);
    await expect(proc.exited).resolves.toMatchObject({ exitCode: 1 }); // ended by EOF, not killed
    expect(source.destroyed).toBe(true);
  });

  test('a recv that ignores EOF and SIGTERM is killed (SIGKILL) after the grace periods', async () => {
    const exec = fakeExec(undefined, () => 'trap "" TERM; exec sleep 30');
    const proc = exec.start('zfs', ['recv', '-u', 'b/x@s1']);
    await proc.spawned;
    proc.stdin.destroy();
    await stopProcess(proc, 50);
    await expect(proc.exited).resolves.toMatchObject({ signal: 'SIGKILL' });
  });

  test('success: all bytes reach zfs recv, which exits 0', async () => {
    const exec = fakeExec(undefined, () => 'test "$(wc -c)" -eq 300000');
    const proc = exec.start('zfs', ['recv', '-u', 'b/x@s1']);
    await pipeIntoRecv(proc, Readable.from([Buffer.alloc(100000), Buffer.alloc(200000)]), never);
    await expect(proc.exited).resolves.toMatchObject({ exitCode: 0 });
  });
});
