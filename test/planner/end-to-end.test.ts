import { createPlanner } from '../../src/planner/index.js';
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import { guids, replicateByHand } from './helpers.js';

const at = (minute: number): Date => new Date(Date.UTC(2024, 0, 1, 0, minute));

function source(): MemoryPool {
  const pool = new MemoryPool({ seed: 'src' });
  pool.createDataset('tank/data');
  pool.snapshot('tank/data', 'a', { creation: at(1), size: 200_000 });
  pool.snapshot('tank/data', 'b', { creation: at(2), size: 100_000 });
  return pool;
}

/** Every dataset of the sender below `tank` has the same snapshot guids below `backup`. */
function expectInSync(src: MemoryPool, dst: MemoryPool): void {
  for (const path of src.paths().filter((p) => p.startsWith('tank/'))) {
    const target = `backup/${path.slice('tank/'.length)}`;
    const sent = src.get(path)?.snapshots.map((s) => s.guid) ?? [];
    expect(guids(dst, target)).toEqual(sent);
  }
}

describe('planner and memory pools, without the driver', () => {
  test('initial replication (all) then an incremental one', async () => {
    const src = source();
    const dst = new MemoryPool({ seed: 'dst' });
    const sender = memorySender(src, 'tank');
    const planner = createPlanner(sender, memoryReceiver(dst, 'backup'), { initial: 'all' });

    expect(await replicateByHand(planner)).toEqual(new Map([['data', ['->a', 'a->b']]]));
    expectInSync(src, dst);
    expect(sender.completed.map((req) => `${req.from?.name ?? ''}->${req.to.name}`)).toEqual([
      '->a',
      'a->b',
    ]);
    expect(dst.get('backup/data')?.snapshots.map((s) => [s.name, s.creation])).toEqual([
      ['a', at(1)],
      ['b', at(2)],
    ]);

    src.snapshot('tank/data', 'c', { creation: at(3) });
    expect(await replicateByHand(planner)).toEqual(new Map([['data', ['b->c']]]));
    expectInSync(src, dst);

    expect(await replicateByHand(planner)).toEqual(new Map([['data', []]]));
  });

  test('initial replication (most-recent) sends only the newest snapshot', async () => {
    const src = source();
    const dst = new MemoryPool({ seed: 'dst' });
    await replicateByHand(createPlanner(memorySender(src, 'tank'), memoryReceiver(dst, 'backup')));
    expect(dst.get('backup/data')?.snapshots.map((s) => s.name)).toEqual(['b']);
    expect(guids(dst, 'backup/data')).toEqual([src.get('tank/data')?.snapshots[1]?.guid]);
  });

  test('a nested tree with a placeholder parent arrives whole, the parent as a placeholder', async () => {
    const src = new MemoryPool({ seed: 'src' });
    src.createDataset('tank/home', { placeholder: true });
    src.createDataset('tank/home/alice');
    src.createDataset('tank/home/alice/mail');
    src.createDataset('tank/home/bob');
    for (const path of ['tank/home/alice', 'tank/home/alice/mail', 'tank/home/bob']) {
      src.snapshot(path, 's1', { creation: at(1) });
      src.snapshot(path, 's2', { creation: at(2) });
    }
    const dst = new MemoryPool({ seed: 'dst' });
    const planner = createPlanner(memorySender(src, 'tank'), memoryReceiver(dst, 'backup'), {
      initial: 'all',
    });
    const done = await replicateByHand(planner);

    expect([...done.keys()]).toEqual(['home', 'home/alice', 'home/alice/mail', 'home/bob']);
    expect(done.get('home')).toEqual([]);
    expect(dst.get('backup/home')?.placeholder).toBe(true);
    expect(dst.get('backup/home/alice')?.placeholder).toBe(false);
    expectInSync(src, dst);
  });

  test('an interrupted transfer is re-planned from the resume token and completes', async () => {
    const src = source();
    const dst = new MemoryPool({ seed: 'dst' });
    const sender = memorySender(src, 'tank');
    const receiver = memoryReceiver(dst, 'backup', { resumable: true });
    const planner = createPlanner(sender, receiver, { initial: 'all' });
    const signal = new AbortController().signal;

    sender.faults.failAfterBytes(150_000, 'unavailable');
    const [fs] = await planner.plan(signal);
    const steps = await fs!.planFS(signal);
    const err = await steps[0]!.step(signal).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 14, details: expect.stringContaining('150000') });
    const interrupted = steps[0]!.reportInfo().bytesReplicated;
    expect(interrupted).toBeGreaterThan(0);
    expect(interrupted).toBeLessThanOrEqual(150_000);

    const [again] = await planner.plan(signal);
    const resumed = await again!.planFS(signal);
    expect(resumed.map((s) => s.reportInfo())).toEqual([
      { from: '', to: 'a', resumed: true, bytesExpected: expect.any(Number), bytesReplicated: 0 },
      { from: 'a', to: 'b', resumed: false, bytesExpected: expect.any(Number), bytesReplicated: 0 },
    ]);
    // The resumed step sends only what is missing, and counts as the originally planned target.
    expect(resumed[0]!.reportInfo().bytesExpected).toBeLessThan(
      steps[0]!.reportInfo().bytesExpected,
    );
    expect(resumed[0]!.targetEquals(steps[0]!)).toBe(true);
    for (const step of resumed) await step.step(signal);

    expect(resumed[0]!.reportInfo().bytesReplicated + interrupted).toBeGreaterThanOrEqual(200_000);
    expect(dst.get('backup/data')?.partial).toBeUndefined();
    expectInSync(src, dst);
  });

  test('a diverged receiver is detected and nothing is sent', async () => {
    const src = source();
    const dst = new MemoryPool({ seed: 'dst' });
    const sender = memorySender(src, 'tank');
    const planner = createPlanner(sender, memoryReceiver(dst, 'backup'));
    await replicateByHand(planner);
    dst.snapshot('backup/data', 'local', { creation: at(5) });
    src.snapshot('tank/data', 'c', { creation: at(3) });

    const [fs] = await planner.plan(new AbortController().signal);
    await expect(fs!.planFS(new AbortController().signal)).rejects.toThrow(
      'cannot replicate data: the receiver has diverged: after the common snapshot @b it has @local',
    );
    expect(dst.get('backup/data')?.snapshots.map((s) => s.name)).toEqual(['b', 'local']);
  });
});
