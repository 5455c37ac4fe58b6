/**
 * D13-D15 end to end on the simulated pool: the planner over a memory sender and receiver,
 * with the sender's fault injection playing what goes wrong in the field: a snapshot
 * destroyed between planning and its send, a connection that drops for one filesystem's
 * stream, a stream that stops sending bytes. The back-offs are 1 ms and the stall timeout
 * 50 ms of real time: what is asserted is the outcome, never a duration.
 */
import { MemoryPool, memoryReceiver, memorySender } from '../../../src/endpoints/memory/index.js';
import { createPlanner } from '../../../src/planner/index.js';
import { replicate, type FilesystemReport, type Report } from '../../../src/index.js';
import { config } from '../../helpers/driver.js';
import { mismatches, partials, sourceTree } from '../../transport/helpers.js';

const healing = { replanLimit: 3, filesystemRetries: 2, filesystemRetryBackoffMs: 1 };

function byName(report: Report): Record<string, FilesystemReport> {
  const attempt = report.attempts.at(-1)!;
  return Object.fromEntries(attempt.filesystems.map((f) => [f.info.name, f]));
}

function setUp() {
  const src = sourceTree({ snapshots: 3 });
  const dst = new MemoryPool({ seed: 'dst' });
  const sender = memorySender(src, 'tank');
  const receiver = memoryReceiver(dst, 'backup');
  const planner = createPlanner(sender, receiver, { initial: 'all' });
  return { src, dst, sender, receiver, planner };
}

describe('D13 a snapshot that vanishes between planning and its send', () => {
  test('the filesystem re-plans without it and finishes; the others are not disturbed', async () => {
    const { src, dst, sender, planner } = setUp();
    sender.faults.vanishBeforeSend('data');
    const report = await replicate(config({ ...healing, stepQueueConcurrency: 3 }), planner).wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(1);
    const fss = byName(report);
    expect(fss.data).toMatchObject({ state: 'done', replans: 1, retries: 0, stepError: null });
    expect(fss.data!.retryError!.err).toMatch(/cannot send tank\/data@s1: no snapshot with guid/);
    expect(fss.data!.steps.map((s) => s.info.to)).toEqual(['s2', 's3']);
    for (const [name, fs] of Object.entries(fss)) {
      if (name !== 'data') expect({ name, replans: fs.replans }).toEqual({ name, replans: 0 });
    }
    expect(src.get('tank/data')!.snapshots.map((s) => s.name)).toEqual(['s2', 's3']);
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });

  test('without replanLimit the stale plan ends the filesystem and fails the run at once', async () => {
    const { sender, planner } = setUp();
    sender.faults.vanishBeforeSend('data');
    const report = await replicate(config({ maxAttempts: 3 }), planner).wait();
    expect(report.state).toBe('failed');
    expect(report.attempts).toHaveLength(1);
    expect(byName(report).data).toMatchObject({ state: 'step-error', replans: 0 });
  });
});

describe('D13 a resume token whose snapshot is gone', () => {
  /** A run that leaves tank/data's full receive of @s1 interrupted, with a resume token. */
  async function interrupted() {
    const src = sourceTree({ snapshots: 3 });
    const dst = new MemoryPool({ seed: 'dst' });
    const sender = memorySender(src, 'tank');
    const receiver = memoryReceiver(dst, 'backup', { resumable: true });
    receiver.faults.failAfterBytes(30_000, 'econnreset', { filesystem: 'data' });
    const first = await replicate(
      config({ maxAttempts: 1 }),
      createPlanner(sender, receiver, { initial: 'all' }),
    ).wait();
    expect(byName(first).data!.state).toBe('step-error');
    expect(partials(dst)).toEqual(['backup/data']);
    return { src, dst, sender, receiver };
  }

  test('vanishing after planning: the resumed send is stale, the re-plan clears the token by policy', async () => {
    const { src, dst, sender, receiver } = await interrupted();
    sender.faults.vanishBeforeSend('data'); // @s1, the token's snapshot
    const planner = createPlanner(sender, receiver, {
      initial: 'all',
      onStaleResumeToken: 'clear',
    });
    const report = await replicate(config(healing), planner).wait();
    expect(report.state).toBe('done');
    expect(byName(report).data).toMatchObject({ state: 'done', replans: 1 });
    expect(byName(report).data!.steps.map((s) => [s.info.to, s.info.resumed])).toEqual([
      ['s2', false],
      ['s3', false],
    ]);
    expect(partials(dst)).toEqual([]);
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });

  test('by default (fail) the re-plan fails the filesystem with an error naming zfs recv -A', async () => {
    const { sender, receiver } = await interrupted();
    sender.faults.vanishBeforeSend('data');
    const planner = createPlanner(sender, receiver, { initial: 'all' });
    const report = await replicate(config(healing), planner).wait();
    expect(report.state).toBe('failed');
    expect(byName(report).data).toMatchObject({ state: 'planning-error', replans: 1 });
    expect(byName(report).data!.planError!.err).toMatch(/zfs recv -A/);
  });
});

describe('D14 a connection that drops for one filesystem', () => {
  test('that filesystem retries within the attempt while the others run; nothing is left half-received', async () => {
    const { src, dst, sender, planner } = setUp();
    sender.faults.failAfterBytes(30_000, 'unavailable', { filesystem: 'data/db' });
    const report = await replicate(config({ ...healing, stepQueueConcurrency: 2 }), planner).wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(1);
    const fss = byName(report);
    expect(fss['data/db']).toMatchObject({ state: 'done', retries: 1, retryAt: null });
    expect(fss['data/db']!.retryError!.err).toMatch(/UNAVAILABLE: connection dropped after 30000/);
    expect(Object.values(fss).filter((f) => f.retries > 0)).toHaveLength(1);
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
    expect(partials(dst)).toEqual([]);
  });
});

describe('D15 a stream that stops sending bytes', () => {
  test('the stalled step is aborted and its filesystem retries; the others run', async () => {
    const { src, dst, sender, planner } = setUp();
    sender.faults.stallAfterBytes(20_000, { filesystem: 'vm' });
    const report = await replicate(
      config({ ...healing, stepStallTimeoutMs: 50, stepQueueConcurrency: 2 }),
      planner,
    ).wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(1);
    const fss = byName(report);
    expect(fss.vm).toMatchObject({ state: 'done', retries: 1 });
    expect(fss.vm!.retryError!.err).toMatch(/stalled: no bytes replicated for 50 ms/);
    expect(Object.values(fss).filter((f) => f.retries > 0)).toHaveLength(1);
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });

  test('without retries a stalled step is a temporary error: the run reconnects and retries it (D2)', async () => {
    const { src, dst, sender, planner } = setUp();
    sender.faults.stallAfterBytes(20_000, { filesystem: 'vm' });
    const report = await replicate(
      config({ stepStallTimeoutMs: 50, maxAttempts: 2, stepQueueConcurrency: 2 }),
      planner,
    ).wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(2);
    expect(byName({ ...report, attempts: [report.attempts[0]!] }).vm!.stepError!.err).toMatch(
      /stalled/,
    );
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });
});
