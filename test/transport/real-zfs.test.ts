/**
 * Real ZFS across the wire (zfs-fuse, or OpenZFS with `npm run test:openzfs`; ZFS-TESTING.md):
 * the sender's pool served by the gRPC server, the receiver local, and the server killed once
 * mid-transfer (at a byte count). The run retries and ends with the sender's snapshot guids on
 * the receiver.
 */
import { join } from 'node:path';
import { zfsReceiver, zfsSender } from '../../src/endpoints/zfs/index.js';
import { createPlanner } from '../../src/planner/index.js';
import { replicate } from '../../src/index.js';
import { grpcSender } from '../../src/transport/index.js';
import { config } from '../helpers/driver.js';
import {
  childProcesses,
  createPools,
  describeZfs,
  destroyPools,
  writeRandomFile,
  zfs,
  zfsGet,
  type TestPools,
} from '../helpers/zfs.js';
import { countingSender, Restartable } from './helpers.js';

const never = new AbortController().signal;

describeZfs('replication over gRPC between zfs pools', () => {
  let pools: TestPools;
  let src: string;
  let dst: string;

  beforeAll(async () => {
    pools = await createPools(['src', 'dst']);
    src = `${pools.name.src}/data`;
    dst = `${pools.name.dst}/backup`;
    for (const fs of ['', '/home', '/db']) zfs('create', `${src}${fs}`);
    zfs('create', dst);
    writeRandomFile(join(zfsGet('mountpoint', `${src}/home`), 'a.bin'), 4 << 20);
    writeRandomFile(join(zfsGet('mountpoint', `${src}/db`), 'b.bin'), 4 << 20);
    zfs('snapshot', '-r', `${src}@s1`);
    writeRandomFile(join(zfsGet('mountpoint', `${src}/db`), 'c.bin'), 2 << 20);
    zfs('snapshot', '-r', `${src}@s2`);
  });

  afterAll(async () => {
    if (pools !== undefined) await destroyPools(pools);
  });

  test('a served zfs sender, killed once mid-stream: the retry completes', async () => {
    let killAt: number | undefined = 3 << 20;
    const restartable: Restartable = new Restartable({
      role: 'sender',
      endpoint: countingSender(zfsSender({ root: src }), (total) => {
        if (killAt !== undefined && total >= killAt) {
          killAt = undefined;
          restartable.killAndRestart();
        }
      }),
    });
    await restartable.start();
    const sender = grpcSender(`grpc://127.0.0.1:${restartable.port}`, {
      reconnect: { initialDelayMs: 10, maxDelayMs: 100 },
    });
    const receiver = zfsReceiver({ root: dst });
    try {
      const report = await replicate(
        config({ maxAttempts: 5, reconnectHardFailTimeoutMs: 60_000 }),
        createPlanner(sender, receiver, { initial: 'all' }),
      ).wait();
      expect(restartable.kills).toBe(1);
      expect(report.state).toBe('done');
      expect(report.attempts.length).toBe(2);
      expect(report.attempts[0]?.filesystems.map((fs) => fs.stepError?.err ?? '')).toContainEqual(
        expect.stringMatching(/send: connection failed/),
      );
      for (const fs of ['home', 'db']) {
        // Snapshots only: on OpenZFS the sender also lists its cursor bookmarks.
        const sent = (await sender.listFilesystemVersions(fs, never)).filter(
          (v) => v.type === 'snapshot',
        );
        const received = await receiver.listFilesystemVersions(fs, never);
        expect(received.map((v) => [v.name, v.guid])).toEqual(sent.map((v) => [v.name, v.guid]));
      }
    } finally {
      sender.close();
      await restartable.stop();
    }
    expect(childProcesses()).toEqual([]);
  });
});
