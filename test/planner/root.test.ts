/**
 * The root itself selectable (issue 15): the path "" is the sender's root dataset, received
 * into the receiver's root; the planner replicates it only when selected, naming every
 * filesystem below the root's label (`data`, `data/home`) so that the driver, by name, makes
 * it every other filesystem's parent (D6), on the simulated pool.
 */
import type { Readable } from 'node:stream';
import { replicate } from '../../src/driver/replicate.js';
import { createPlanner, filesystemNaming } from '../../src/planner/index.js';
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import type { Receiver, ReceiveReq } from '../../src/endpoints/types.js';
import { deferred, until, type Deferred } from '../helpers/deferred.js';
import { config } from '../helpers/driver.js';
import { guids, replicateByHand } from './helpers.js';

const at = (minute: number): Date => new Date(Date.UTC(2024, 0, 1, 0, minute));

/** tank/data (the sender's root) with two snapshots, and two children with one each. */
function source(): MemoryPool {
  const pool = new MemoryPool({ seed: 'src' });
  for (const path of ['tank/data', 'tank/data/home', 'tank/data/www']) pool.createDataset(path);
  pool.snapshot('tank/data', 'a', { creation: at(1), size: 10_000 });
  pool.snapshot('tank/data', 'b', { creation: at(2), size: 10_000 });
  pool.snapshot('tank/data/home', 'a', { creation: at(1), size: 10_000 });
  pool.snapshot('tank/data/www', 'a', { creation: at(1), size: 10_000 });
  return pool;
}

function target(): MemoryPool {
  const pool = new MemoryPool({ seed: 'dst' });
  pool.createDataset('backup/host1');
  return pool;
}

const snapshotGuids = (pool: MemoryPool, path: string): string[] =>
  pool.get(path)?.snapshots.map((s) => s.guid) ?? [];

describe('the root "" in the plan', () => {
  test('without a selection the root is listed by the sender but not replicated', async () => {
    const src = source();
    const dst = target();
    const sender = memorySender(src, 'tank/data');
    expect((await sender.listFilesystems(AbortSignal.timeout(5000))).map((f) => f.path)).toEqual([
      '',
      'home',
      'www',
    ]);
    const planner = createPlanner(sender, memoryReceiver(dst, 'backup/host1'));
    expect([...(await replicateByHand(planner)).keys()]).toEqual(['home', 'www']);
    expect(guids(dst, 'backup/host1')).toEqual([]);
  });

  test('the root alone, selected: received into the receiver root, then incrementally', async () => {
    const src = source();
    const dst = target();
    const planner = createPlanner(
      memorySender(src, 'tank/data'),
      memoryReceiver(dst, 'backup/host1'),
      { initial: 'all', filesystems: (path) => path === '', rootName: 'data' },
    );
    expect(await replicateByHand(planner)).toEqual(new Map([['data', ['->a', 'a->b']]]));
    expect(guids(dst, 'backup/host1')).toEqual(snapshotGuids(src, 'tank/data'));
    expect(dst.paths()).toEqual(['backup', 'backup/host1']);

    src.snapshot('tank/data', 'c', { creation: at(3) });
    expect(await replicateByHand(planner)).toEqual(new Map([['data', ['b->c']]]));
    expect(guids(dst, 'backup/host1')).toEqual(snapshotGuids(src, 'tank/data'));
  });

  test('the root and its children, through the driver: named below the root label', async () => {
    const src = source();
    const dst = target();
    const planner = createPlanner(
      memorySender(src, 'tank/data'),
      memoryReceiver(dst, 'backup/host1'),
      { filesystems: () => true, rootName: 'data' },
    );
    const report = await replicate(config({ stepQueueConcurrency: 4 }), planner).wait();
    expect(report.state).toBe('done');
    const fss = report.attempts[0]!.filesystems;
    expect(fss.map((fs) => [fs.info.name, fs.state])).toEqual([
      ['data', 'done'],
      ['data/home', 'done'],
      ['data/www', 'done'],
    ]);
    for (const [from, to] of [
      ['tank/data', 'backup/host1'],
      ['tank/data/home', 'backup/host1/home'],
      ['tank/data/www', 'backup/host1/www'],
    ] as const) {
      expect(guids(dst, to)).toEqual([snapshotGuids(src, from).at(-1)]);
    }
  });
});

/** A receiver whose receives into `held` wait for `gate` before they start. */
function gatedReceiver(
  inner: Receiver,
  held: string,
  gate: Deferred<void>,
): { receiver: Receiver; started: string[]; finished: string[] } {
  const started: string[] = [];
  const finished: string[] = [];
  const receiver: Receiver = {
    listFilesystems: (signal) => inner.listFilesystems(signal),
    listFilesystemVersions: (fs, signal) => inner.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => inner.waitForConnectivity(signal),
    async receive(req: ReceiveReq, stream: Readable, signal: AbortSignal) {
      started.push(req.filesystem);
      if (req.filesystem === held) await gate.promise;
      await inner.receive(req, stream, signal);
      finished.push(req.filesystem);
    },
  };
  return { receiver, started, finished };
}

describe('D6: children wait for the root', () => {
  test("every child waits (parent-initial-repl) until the root's initial replication is in", async () => {
    const src = source();
    const dst = target();
    const gate = deferred();
    const { receiver, started, finished } = gatedReceiver(
      memoryReceiver(dst, 'backup/host1'),
      '',
      gate,
    );
    const run = replicate(
      config({ stepQueueConcurrency: 4 }),
      createPlanner(memorySender(src, 'tank/data'), receiver, {
        filesystems: () => true,
        rootName: 'data',
      }),
    );
    const children = () =>
      run.report().attempts[0]?.filesystems.filter((fs) => fs.info.name !== 'data') ?? [];
    await until(() => started.includes('') && children().length === 2);
    await until(() => children().every((fs) => fs.blockedOn === 'parent-initial-repl'));
    expect(started).toEqual(['']);

    gate.resolve();
    const report = await run.wait();
    expect(report.state).toBe('done');
    expect(finished[0]).toBe('');
    expect(started.slice(1).sort()).toEqual(['home', 'www']);
  });

  test('a root that fails its initial replication fails its children, naming it', async () => {
    const src = source();
    const dst = target();
    const gate = deferred();
    const { receiver, started } = gatedReceiver(memoryReceiver(dst, 'backup/host1'), '', gate);
    const run = replicate(
      config({ stepQueueConcurrency: 4 }),
      createPlanner(memorySender(src, 'tank/data'), receiver, {
        filesystems: () => true,
        rootName: 'data',
      }),
    );
    await until(() => started.includes(''));
    gate.reject(new Error('disk full'));
    const report = await run.wait();
    const byName = new Map(report.attempts[0]!.filesystems.map((fs) => [fs.info.name, fs]));
    expect(byName.get('data')?.stepError?.err).toContain('disk full');
    for (const child of ['data/home', 'data/www']) {
      expect(byName.get(child)?.stepError?.err).toBe(
        'parent(s) failed during initial replication: data',
      );
    }
    expect(started).toEqual(['']);
  });

  test('a root already on the receiver holds nobody back: its children go at once', async () => {
    const src = source();
    const dst = target();
    await replicateByHand(
      createPlanner(memorySender(src, 'tank/data'), memoryReceiver(dst, 'backup/host1'), {
        filesystems: (path) => path === '',
        rootName: 'data',
      }),
    );
    src.snapshot('tank/data', 'c', { creation: at(3) });
    const gate = deferred();
    const { receiver, started } = gatedReceiver(memoryReceiver(dst, 'backup/host1'), '', gate);
    const run = replicate(
      config({ stepQueueConcurrency: 4 }),
      createPlanner(memorySender(src, 'tank/data'), receiver, {
        filesystems: () => true,
        rootName: 'data',
      }),
    );
    // The root's incremental b->c is held, yet the children receive: the root is present (D6).
    await until(() => started.length === 3);
    expect(started[0]).toBe('');
    gate.resolve();
    expect((await run.wait()).state).toBe('done');
  });
});

describe('the names of a plan with the root (D3: every name a dataset path)', () => {
  test('a selection with the root needs a rootName: a clear error, before any listing', () => {
    const sender = memorySender(source(), 'tank/data');
    const receiver = memoryReceiver(target(), 'backup/host1');
    expect(() => createPlanner(sender, receiver, { filesystems: () => true })).toThrow(
      'the selection includes the sender\'s root (the path ""): set rootName',
    );
  });

  test.each([
    ['', 'empty name'],
    ['/data', 'leading "/"'],
    ['data@a', 'contains "@"'],
  ])('an invalid rootName %j is refused (%s)', (rootName, problem) => {
    const sender = memorySender(source(), 'tank/data');
    const receiver = memoryReceiver(target(), 'backup/host1');
    expect(() => createPlanner(sender, receiver, { filesystems: () => true, rootName })).toThrow(
      `invalid rootName ${JSON.stringify(rootName)}: ${problem}`,
    );
  });

  test('without the root selected, names are the paths, whatever the rootName', async () => {
    const planner = createPlanner(
      memorySender(source(), 'tank/data'),
      memoryReceiver(target(), 'backup/host1'),
      { filesystems: (path) => path !== '', rootName: 'data' },
    );
    const fss = await planner.plan(AbortSignal.timeout(5000));
    expect(fss.map((fs) => fs.reportInfo().name)).toEqual(['home', 'www']);
  });

  test("names map back to paths, the inverse of the planner's naming", () => {
    const withRoot = filesystemNaming({ filesystems: () => true, rootName: 'tank' });
    expect(['', 'home', 'home/a'].map((p) => withRoot.nameOf(p))).toEqual([
      'tank',
      'tank/home',
      'tank/home/a',
    ]);
    expect(['tank', 'tank/home', 'tank/home/a'].map((n) => withRoot.pathOf(n))).toEqual([
      '',
      'home',
      'home/a',
    ]);
    expect(() => withRoot.pathOf('tanks/home')).toThrow('is not below tank');
    const without = filesystemNaming({ rootName: 'tank' });
    expect([without.nameOf('home'), without.pathOf('home')]).toEqual(['home', 'home']);
  });
});
