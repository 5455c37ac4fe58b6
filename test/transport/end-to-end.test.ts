import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import { createPlanner } from '../../src/planner/index.js';
import { replicate } from '../../src/index.js';
import { grpcReceiver, grpcSender } from '../../src/transport/index.js';
import { config } from '../helpers/driver.js';
import { mismatches, partials, Resources, sourceTree } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

describe('replication over gRPC on loopback', () => {
  test('a full tree reaches a served receiver', async () => {
    const src = sourceTree();
    const dst = new MemoryPool({ seed: 'dst' });
    const server = await resources.serveReceiver(memoryReceiver(dst, 'backup'));
    const receiver = resources.client(grpcReceiver(server.url));
    const planner = createPlanner(memorySender(src, 'tank'), receiver, { initial: 'all' });
    const report = await replicate(config(), planner).wait();
    expect(report.state).toBe('done');
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
    expect(partials(dst)).toEqual([]);
    expect(dst.get('backup/home')?.placeholder).toBe(true);
  });

  test('a full tree comes from a served sender', async () => {
    const src = sourceTree();
    const dst = new MemoryPool({ seed: 'dst' });
    const server = await resources.serve({
      listen: '127.0.0.1:0',
      role: 'sender',
      endpoint: memorySender(src, 'tank'),
    });
    const sender = resources.client(grpcSender(server.url));
    const planner = createPlanner(sender, memoryReceiver(dst, 'backup'), { initial: 'all' });
    const report = await replicate(config(), planner).wait();
    expect(report.state).toBe('done');
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });
});

describe('resume tokens over gRPC', () => {
  test("the served receiver's own reading of its token reaches the client unchanged", async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    const local = memoryReceiver(dst, 'backup');
    const listed = [
      {
        path: 'full',
        isPlaceholder: false,
        resumeToken: 't1',
        resume: {
          toGuid: '18446744073709551615',
          toName: 'tank/full@s1',
          clearCommand: 'zfs recv -A backup/full',
        },
      },
      {
        path: 'incr',
        isPlaceholder: false,
        resumeToken: 't2',
        resume: { fromGuid: '1', toGuid: '2' },
      },
      { path: 'unread', isPlaceholder: false, resumeToken: 't3' },
      { path: 'none', isPlaceholder: true },
    ];
    local.listFilesystems = async () => listed;
    const server = await resources.serveReceiver(local);
    const receiver = resources.client(grpcReceiver(server.url));
    await expect(receiver.listFilesystems(new AbortController().signal)).resolves.toEqual(listed);
  });
});
