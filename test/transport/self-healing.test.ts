/**
 * D13-D15 over gRPC: the sender is served, its faults are injected on the server's side, and
 * the driver heals the one filesystem they hit. A stale plan crosses the wire as a
 * StalePlanError, a dropped stream as UNAVAILABLE, and a stalled stream is aborted by the
 * client's stall watch, which cancels the call on the server.
 */
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import { createPlanner } from '../../src/planner/index.js';
import { classifyError, replicate, StalePlanError, type Report } from '../../src/index.js';
import { grpcSender } from '../../src/transport/index.js';
import { config } from '../helpers/driver.js';
import { mismatches, partials, Resources, sourceTree } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

const healing = { replanLimit: 2, filesystemRetries: 2, filesystemRetryBackoffMs: 1 };

async function servedSender() {
  const src = sourceTree({ snapshots: 3 });
  const dst = new MemoryPool({ seed: 'dst' });
  const endpoint = memorySender(src, 'tank');
  const server = await resources.serve({ listen: '127.0.0.1:0', role: 'sender', endpoint });
  const sender = resources.client(grpcSender(server.url));
  const planner = createPlanner(sender, memoryReceiver(dst, 'backup'), { initial: 'all' });
  return { src, dst, faults: endpoint.faults, sender, planner };
}

function fs(report: Report, name: string) {
  return report.attempts.at(-1)!.filesystems.find((f) => f.info.name === name)!;
}

describe('self-healing over gRPC', () => {
  test('D13: a snapshot destroyed on the served sender after planning is a stale plan; the filesystem re-plans', async () => {
    const { src, dst, faults, sender, planner } = await servedSender();
    faults.vanishBeforeSend('vm');
    const report = await replicate(config(healing), planner).wait();
    expect(report.state).toBe('done');
    expect(fs(report, 'vm')).toMatchObject({ state: 'done', replans: 1 });
    expect(fs(report, 'vm').retryError!.err).toMatch(/^grpc:\/\/127\.0\.0\.1:\d+: cannot send/);
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
    // What the client rejects with: a StalePlanError carrying the server's message.
    faults.vanishBeforeSend('data');
    const versions = await sender.listFilesystemVersions('data', new AbortController().signal);
    const to = versions.find((v) => v.name === 's3')!;
    const err = await sender.send({ filesystem: 'data', to }, new AbortController().signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StalePlanError);
    expect(classifyError(err)).toBe('stale-plan');
  });

  test('D14: a dropped stream of one filesystem is retried in the same attempt', async () => {
    const { src, dst, faults, planner } = await servedSender();
    faults.failAfterBytes(30_000, 'unavailable', { filesystem: 'data/db' });
    const report = await replicate(config({ ...healing, stepQueueConcurrency: 2 }), planner).wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(1);
    expect(fs(report, 'data/db')).toMatchObject({ state: 'done', retries: 1 });
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
    expect(partials(dst)).toEqual([]);
  });

  test('D15: a served stream that stops sending is aborted by the stall watch and retried', async () => {
    const { src, dst, faults, planner } = await servedSender();
    faults.stallAfterBytes(20_000, { filesystem: 'home/bob' });
    const report = await replicate(
      config({ ...healing, stepStallTimeoutMs: 100, stepQueueConcurrency: 2 }),
      planner,
    ).wait();
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(1);
    expect(fs(report, 'home/bob')).toMatchObject({ state: 'done', retries: 1 });
    expect(fs(report, 'home/bob').retryError!.err).toMatch(/stalled/);
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });
});
