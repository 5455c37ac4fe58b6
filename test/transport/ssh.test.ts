/**
 * The ssh transport against a real OpenSSH sshd on a loopback port (sshd.ts): replication
 * from a remote simulated pool and into a remote zfs-fuse pool, an ssh killed mid-stream and
 * retried by the driver, a refused key failing the run with ssh's words, and a forced command
 * in `authorized_keys` that pins the key to one role and root. The remote `xrepl` is the CLI
 * built from this checkout (`?xrepl=node main.js`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryPool, memoryReceiver } from '../../src/endpoints/memory/index.js';
import type { Receiver } from '../../src/endpoints/types.js';
import { zfsSender } from '../../src/endpoints/zfs/index.js';
import { classifyError, replicate } from '../../src/index.js';
import { createPlanner } from '../../src/planner/index.js';
import { parseSshUrl } from '../../src/transport/ssh/url.js';
import { sshReceiver, sshSender } from '../../src/transport/ssh/endpoint.js';
import { buildCli, type BuiltCli } from '../cli/build.js';
import { fakeIO, run } from '../cli/helpers.js';
import { config } from '../helpers/driver.js';
import {
  createPools,
  describeZfs,
  destroyPools,
  zfs,
  zfsGet,
  writeRandomFile,
  zfsTimeout,
  type TestPools,
} from '../helpers/zfs.js';
import { mismatches, partials, sourceTree, tap } from './helpers.js';
import { sshClientsTo, sshdUnavailable, startSshd, type TestSshd } from './sshd.js';

const never = new AbortController().signal;
const unavailable = sshdUnavailable();
if (unavailable !== undefined) process.stderr.write(`ssh tests skipped: ${unavailable}\n`);
const describeSsh = unavailable === undefined ? describe : describe.skip;

describe('ssh endpoint URLs', () => {
  test('user, host, port, root and options are parsed; the ssh command is built from them', () => {
    const target = parseSshUrl(
      'ssh://backup@nas.example:2222/tank/data?xrepl=/opt/xrepl/bin/xrepl&identity=/k&ssh-option=Compression=no',
    );
    expect(target).toMatchObject({
      user: 'backup',
      host: 'nas.example',
      port: 2222,
      root: 'tank/data',
      xrepl: ['/opt/xrepl/bin/xrepl'],
      identity: '/k',
      sshOptions: ['Compression=no'],
    });
  });

  test.each([
    ['ssh://host', /no \/ROOT/],
    ['ssh://-oProxyCommand=x/tank', /no host|host/],
    ['ssh://host/../etc', /root/],
    ['ssh://host/tank?bogus=1', /unknown parameter "bogus"/],
    ['ssh://host/tank?role=both', /role is sender or receiver/],
    ['ssh://host:70000/tank', /port/],
    ['ssh://we;ird@host/tank', /not a user name/],
  ])('%s is refused', (url, message) => {
    expect(() => parseSshUrl(url)).toThrow(message);
  });
});

describeSsh('replication over ssh (a real sshd on loopback)', () => {
  let cli: BuiltCli;
  let sshd: TestSshd;
  let xrepl: string;

  beforeAll(async () => {
    cli = buildCli();
    xrepl = `${process.execPath} ${cli.main}`;
    sshd = await startSshd();
  }, 120_000);

  afterAll(async () => {
    await sshd?.stop();
    cli?.remove();
  });

  function fixture(pool: MemoryPool, name: string): string {
    const file = join(sshd.dir, name);
    writeFileSync(file, JSON.stringify(pool.toFixture()));
    return file;
  }

  test('a tree comes from a remote simulated pool', async () => {
    const src = sourceTree({ snapshots: 2, size: 200_000 });
    const dst = new MemoryPool({ seed: 'dst' });
    const sender = sshSender(sshd.url('tank', { xrepl, memory: fixture(src, 'src.json') }));
    try {
      const report = await replicate(
        config({ maxAttempts: 1 }),
        createPlanner(sender, memoryReceiver(dst, 'backup'), { initial: 'all' }),
      ).wait();
      expect(report.state).toBe('done');
      expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
    } finally {
      await sender.close();
    }
    expect(sshClientsTo(sshd.port)).toEqual([]);
  }, 60_000);

  test('an ssh killed mid-stream: the send fails as a lost connection, the driver retries and completes', async () => {
    const src = sourceTree({ snapshots: 1, size: 3_000_000 });
    const dst = new MemoryPool({ seed: 'dst' });
    const inner = memoryReceiver(dst, 'backup');
    let killed: number[] | undefined;
    // Kills every ssh client once the first stream has delivered 1 MB (a byte count, not a timer).
    const receiver: Receiver = {
      listFilesystems: (signal) => inner.listFilesystems(signal),
      listFilesystemVersions: (fs, signal) => inner.listFilesystemVersions(fs, signal),
      waitForConnectivity: (signal) => inner.waitForConnectivity(signal),
      receive(req, stream, signal) {
        const counted = stream.pipe(
          tap((total) => {
            if (killed === undefined && total >= 1_000_000) {
              killed = sshClientsTo(sshd.port);
              for (const pid of killed) process.kill(pid, 'SIGKILL');
            }
          }),
        );
        stream.once('error', (err) => counted.destroy(err));
        return inner.receive(req, counted, signal);
      },
    };
    const sender = sshSender(sshd.url('tank', { xrepl, memory: fixture(src, 'big.json') }), {
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    try {
      const report = await replicate(
        config({ maxAttempts: 3, reconnectHardFailTimeoutMs: 60_000 }),
        createPlanner(sender, receiver, { initial: 'all' }),
      ).wait();
      expect(killed?.length).toBeGreaterThan(0);
      expect(report.state).toBe('done');
      expect(report.attempts).toHaveLength(2);
      const errors = report.attempts[0]!.filesystems.flatMap((fs) =>
        fs.stepError === null ? [] : [fs.stepError],
      );
      expect(errors.map((e) => e.err)).toContainEqual(
        expect.stringMatching(/send: connection failed/),
      );
      expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
      expect(partials(dst)).toEqual([]);
    } finally {
      await sender.close();
    }
  }, 60_000);

  test("a key sshd does not accept: the run fails at once with ssh's words, exit 1", async () => {
    const from = sshd.url('tank', { xrepl, memory: join(sshd.dir, 'none.json') }, sshd.strangerKey);
    const { code, io } = await run(['replicate', '--from', from, '--to', 'memory:'], fakeIO());
    expect(code).toBe(1);
    expect(io.err).toMatch(/ssh failed \(exit 255\): .*Permission denied/);
    expect(sshClientsTo(sshd.port)).toEqual([]);
  });

  test('the error of a refused key is permanent', async () => {
    const sender = sshSender(sshd.url('tank', { xrepl }, sshd.strangerKey));
    try {
      const err = await sender.listFilesystems(never).catch((e: unknown) => e);
      expect(classifyError(err)).toBe('permanent');
    } finally {
      await sender.close();
    }
  });
});

describeSsh('an authorized_keys forced command', () => {
  let cli: BuiltCli;
  let sshd: TestSshd;
  let src: MemoryPool;
  let file: string;

  beforeAll(async () => {
    cli = buildCli();
    src = sourceTree({ snapshots: 1, size: 10_000 });
    sshd = await startSshd({
      // Replaced below once the directory exists; sshd reads authorized_keys at each login.
      forcedCommand: 'false',
    });
    file = join(sshd.dir, 'forced.json');
    writeFileSync(file, JSON.stringify(src.toFixture()));
    const pub = readFileSync(`${sshd.clientKey}.pub`, 'utf8');
    const command = `${process.execPath} ${cli.main} stdio --role sender --memory ${file}?root=tank/data`;
    writeFileSync(join(sshd.dir, 'authorized_keys'), `command="${command}",restrict ${pub}`);
  }, 120_000);

  afterAll(async () => {
    await sshd?.stop();
    cli?.remove();
  });

  test('the key reaches only the forced role and root, whatever the client asks for', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    // The client asks for all of tank; the forced command serves tank/data.
    const sender = sshSender(sshd.url('tank', { xrepl: 'anything' }));
    try {
      const listed = await sender.listFilesystems(never);
      expect(listed.map((fs) => fs.path).sort()).toEqual(['', 'db', 'db/logs']);
      const report = await replicate(
        config({ maxAttempts: 1 }),
        createPlanner(sender, memoryReceiver(dst, 'backup'), { initial: 'all' }),
      ).wait();
      expect(report.state).toBe('done');
      expect(mismatches(src, 'tank/data', dst, 'backup')).toEqual([]);
    } finally {
      await sender.close();
    }
    const receiver = sshReceiver(sshd.url('tank'));
    try {
      await expect(receiver.waitForConnectivity(never)).rejects.toThrow(
        /runs a sender, not a receiver/,
      );
    } finally {
      await receiver.close();
    }
  });
});

/** The environment that picks this process's zfs (with OpenZFS: the shims and their guest). */
function zfsEnv(): string {
  return ['PATH', 'OZFS_GUEST_DIR']
    .flatMap((name) => {
      const value = process.env[name];
      return value === undefined ? [] : [`${name}=${value}`];
    })
    .join(' ');
}

describeZfs('replication over ssh into a zfs pool', () => {
  let pools: TestPools;
  let cli: BuiltCli;
  let sshd: TestSshd | undefined;
  let src: string;
  let dst: string;

  beforeAll(async () => {
    if (unavailable !== undefined) return;
    cli = buildCli();
    sshd = await startSshd();
    pools = await createPools(['src', 'dst']);
    src = `${pools.name.src}/data`;
    dst = `${pools.name.dst}/backup`;
    for (const fs of ['', '/home']) zfs('create', `${src}${fs}`);
    zfs('create', dst);
    writeRandomFile(join(zfsGet('mountpoint', `${src}/home`), 'a.bin'), 2 << 20);
    zfs('snapshot', '-r', `${src}@s1`);
    writeRandomFile(join(zfsGet('mountpoint', `${src}/home`), 'b.bin'), 1 << 20);
    zfs('snapshot', '-r', `${src}@s2`);
  }, zfsTimeout(120_000));

  afterAll(async () => {
    if (pools !== undefined) await destroyPools(pools);
    await sshd?.stop();
    cli?.remove();
  });

  (unavailable === undefined ? test : test.skip)(
    'a local zfs sender into `xrepl stdio --zfs` on the far side',
    async () => {
      const sender = zfsSender({ root: src });
      const receiver = sshReceiver(
        // The far side's zfs is the one this process uses (with OpenZFS, the shims on PATH).
        (sshd as TestSshd).url(dst, {
          xrepl: `env ${zfsEnv()} ${process.execPath} ${cli.main}`,
        }),
      );
      try {
        const report = await replicate(
          config({ maxAttempts: 1 }),
          createPlanner(sender, receiver, { initial: 'all' }),
        ).wait();
        expect(report.state).toBe('done');
        for (const fs of ['home']) {
          // Snapshots only: on OpenZFS the sender also lists its cursor bookmark.
          const snapshots = <V extends { type: string }>(versions: V[]) =>
            versions.filter((v) => v.type === 'snapshot');
          const sent = snapshots(await sender.listFilesystemVersions(fs, never));
          const received = snapshots(await receiver.listFilesystemVersions(fs, never));
          expect(received.map((v) => [v.name, v.guid])).toEqual(sent.map((v) => [v.name, v.guid]));
        }
      } finally {
        await receiver.close();
      }
    },
    zfsTimeout(120_000),
  );
});
