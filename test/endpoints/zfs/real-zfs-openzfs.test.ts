/**
 * The OpenZFS features on real ZFS, through the library as a user runs it (`replicate` +
 * `createPlanner` + `zfsSender`/`zfsReceiver`, and the CLI in-process): resume of an
 * interrupted receive with `send -t`, stale resume tokens, step holds, the replication cursor
 * bookmark, the last-received hold, raw sends of encrypted datasets and size estimates. Each
 * scenario has its own sender and receiver roots on one pair of pools and runs in order.
 * zfs-fuse (pool version 23) has none of these: every scenario is skipped there, saying so.
 */
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { createPlanner, type StaleResumeTokenPolicy } from '../../../src/planner/index.js';
import { replicate, type Report, type Sender, type SendReq } from '../../../src/index.js';
import { zfsReceiver, zfsSender } from '../../../src/endpoints/zfs/index.js';
import type { ZfsSendOptions } from '../../../src/endpoints/zfs/send-options.js';
import { ReportSchema } from '../../../src/report/schema.js';
import { run } from '../../cli/helpers.js';
import { config } from '../../helpers/driver.js';
import {
  childProcesses,
  createPools,
  describeZfs,
  destroyPools,
  fileTree,
  onlyOn,
  writeFile,
  writeRandomFile,
  zfs,
  zfsGet,
  type TestPools,
} from '../../helpers/zfs.js';

const MiB = 1 << 20;
const never = new AbortController().signal;
const openzfs = onlyOn(
  'openzfs',
  'zfs-fuse pools (version 23) have no resume tokens, holds, bookmarks, encryption or send -n -P',
);

/** One `send` as it left the sender. */
interface Sent {
  filesystem: string;
  from: string | undefined;
  to: string;
  resumed: boolean;
  bytes: number;
}

interface SenderHooks {
  /** Cuts the first send that reaches `atBytes`: `how` is called with its stream. */
  cut?: { atBytes: number; how: (stream: Transform) => void };
  /** Runs while a step's stream is open, before any of its bytes flowed. */
  duringStep?: (req: SendReq) => void;
}

/** A sender that records the bytes of every send and can cut one or look in during a step. */
function recordingSender(inner: Sender, hooks: SenderHooks = {}): Sender & { sends: Sent[] } {
  const sends: Sent[] = [];
  let cut = hooks.cut;
  return {
    sends,
    listFilesystems: (signal) => inner.listFilesystems(signal),
    listFilesystemVersions: (fs, signal) => inner.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => inner.waitForConnectivity(signal),
    sendDry: (req, signal) => inner.sendDry(req, signal),
    sendCompleted: (req, signal) => inner.sendCompleted(req, signal),
    async send(req, signal) {
      const { usedResumeToken, stream } = await inner.send(req, signal);
      hooks.duringStep?.(req);
      const sent: Sent = {
        filesystem: req.filesystem,
        from: req.from?.name,
        to: req.to.name,
        resumed: usedResumeToken,
        bytes: 0,
      };
      sends.push(sent);
      const counted: Transform = new Transform({
        // Closed only once the sender's stream is (its holds released after a failure).
        destroy(err, callback) {
          if (stream.closed) return callback(err);
          stream.once('close', () => callback(err));
          stream.destroy();
        },
        transform(chunk: Buffer, _enc, callback) {
          sent.bytes += chunk.length;
          callback(null, chunk);
          if (cut !== undefined && sent.bytes >= cut.atBytes) {
            const { how } = cut;
            cut = undefined;
            how(counted);
          }
        },
      });
      stream.pipe(counted);
      stream.once('error', (err) => counted.destroy(err));
      return { usedResumeToken, stream: counted };
    },
  };
}

/** A lost connection, as the driver sees one (temporary: the next attempt retries). */
const connectionLost = (stream: Transform): void =>
  void stream.destroy(
    Object.assign(new Error('connection lost (cut by the test)'), { code: 'ETIMEDOUT' }),
  );

/** `<snapshot> <tag>` for every user hold on a snapshot at or below `dataset`. */
function holdsBelow(dataset: string): string[] {
  const held = zfs('list', '-Hp', '-r', '-t', 'snapshot', '-o', 'name,userrefs', dataset)
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([name, refs]) => name !== undefined && name !== '' && refs !== '0')
    .map(([name]) => name as string);
  if (held.length === 0) return [];
  return zfs('holds', '-H', ...held)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').slice(0, 2).join(' '));
}

/** Names (after `@` or `#`) and guids of the snapshots of `dataset`, oldest first. */
function snapshotGuids(dataset: string): string[] {
  return zfs(
    'list',
    '-Hp',
    '-d',
    '1',
    '-t',
    'snapshot',
    '-s',
    'createtxg',
    '-o',
    'name,guid',
    dataset,
  )
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.slice(dataset.length + 1).replace('\t', ' '));
}

/** Bookmark names of `dataset`. */
function bookmarks(dataset: string): string[] {
  return zfs('list', '-H', '-d', '1', '-t', 'bookmark', '-o', 'name', dataset)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.slice(dataset.length));
}

/** Steps of a report's attempt `i` (default: the last), per filesystem. */
function stepsOf(report: Report, i = report.attempts.length - 1) {
  return (report.attempts[i]?.filesystems ?? []).flatMap((fs) =>
    fs.steps.map((s) => ({ filesystem: fs.info.name, ...s.info })),
  );
}

describeZfs('OpenZFS features through replicate() on real ZFS', () => {
  let pools: TestPools;
  /** Makes `<src pool>/<scenario>` and `<dst pool>/<scenario>`; their names. */
  const roots = (scenario: string): { src: string; dst: string } => {
    const src = `${pools.name.src}/${scenario}`;
    const dst = `${pools.name.dst}/${scenario}`;
    zfs('create', src);
    zfs('create', dst);
    return { src, dst };
  };
  const writeRandom = (dataset: string, file: string, bytes: number): void =>
    writeRandomFile(join(zfsGet('mountpoint', dataset), file), bytes);

  async function replicateOnce(
    sender: Sender,
    dst: string,
    options: {
      maxAttempts?: number;
      signal?: AbortSignal;
      onStaleResumeToken?: StaleResumeTokenPolicy;
    } = {},
  ): Promise<Report> {
    const planner = createPlanner(sender, zfsReceiver({ root: dst }), {
      initial: 'all',
      ...(options.onStaleResumeToken && { onStaleResumeToken: options.onStaleResumeToken }),
    });
    return replicate(
      config({ maxAttempts: options.maxAttempts ?? 1, reconnectHardFailTimeoutMs: 60_000 }),
      planner,
      options.signal === undefined ? {} : { signal: options.signal },
    ).wait();
  }

  /** The size estimate of a full send of `fs@snapshot`. */
  async function fullSendSize(
    root: string,
    fs: string,
    snapshot: string,
  ): Promise<number | undefined> {
    const sender = zfsSender({ root });
    const to = (await sender.listFilesystemVersions(fs, never)).find((v) => v.name === snapshot);
    if (to === undefined) return undefined;
    return (await sender.sendDry({ filesystem: fs, to }, never)).expectedSize;
  }

  beforeAll(async () => {
    pools = await createPools(['src', 'dst']);
  });

  afterAll(async () => {
    if (pools !== undefined) await destroyPools(pools);
  });

  describe('resume', () => {
    let src: string;
    let dst: string;
    /** The bytes of a full send of `big@s1` (zfs send -n -P). */
    let fullSize: number;

    openzfs(
      'a receive cut mid-stream is resumed by the next attempt with send -t: only the missing bytes travel',
      async () => {
        ({ src, dst } = roots('resume'));
        zfs('create', `${src}/big`);
        writeRandom(`${src}/big`, 'a.bin', 16 * MiB);
        zfs('snapshot', `${src}/big@s1`);
        const sender = recordingSender(zfsSender({ root: src }), {
          cut: { atBytes: 6 * MiB, how: connectionLost },
        });
        const report = await replicateOnce(sender, dst, { maxAttempts: 2 });
        expect(report.state).toBe('done');
        expect(report.attempts.map((a) => a.state)).toEqual(['filesystem-error', 'done']);
        const [cut, resumed] = sender.sends;
        expect(cut).toMatchObject({ to: 's1', resumed: false });
        expect(resumed).toMatchObject({ to: 's1', resumed: true });
        // Size estimates for a full send and for its resumption.
        const [full] = stepsOf(report, 0);
        const [resumedStep] = stepsOf(report, 1);
        fullSize = full?.bytesExpected ?? 0;
        expect(fullSize).toBeGreaterThan(16 * MiB);
        expect(resumedStep).toMatchObject({ resumed: true, to: 's1' });
        expect(resumedStep?.bytesExpected).toBeGreaterThan(0);
        expect(resumedStep?.bytesExpected).toBeLessThan(fullSize);
        // What the receiver had kept of the first 6 MiB is not sent again.
        expect(resumed?.bytes).toBeLessThan(fullSize - 2 * MiB);
        expect(snapshotGuids(`${dst}/big`)).toEqual(snapshotGuids(`${src}/big`));
        expect(zfsGet('receive_resume_token', `${dst}/big`)).toBe('-');
      },
    );

    openzfs(
      'a cancelled run leaves a partial receive and no hold on the sender; the next run resumes it',
      async () => {
        writeRandom(`${src}/big`, 'b.bin', 12 * MiB);
        zfs('snapshot', `${src}/big@s2`);
        const controller = new AbortController();
        const cancelled = recordingSender(zfsSender({ root: src }), {
          cut: {
            atBytes: 4 * MiB,
            how: () => controller.abort(new Error('cancelled by the test')),
          },
        });
        const first = await replicateOnce(cancelled, dst, { signal: controller.signal });
        expect(first.state).toBe('cancelled');
        expect(childProcesses()).toEqual([]);
        expect(holdsBelow(src)).toEqual([]);
        expect(zfsGet('receive_resume_token', `${dst}/big`)).toMatch(/^1-/);

        const sender = recordingSender(zfsSender({ root: src }));
        const report = await replicateOnce(sender, dst);
        expect(report.state).toBe('done');
        expect(sender.sends).toEqual([
          expect.objectContaining({ from: 's1', to: 's2', resumed: true }),
        ]);
        const [step] = stepsOf(report);
        expect(step).toMatchObject({ resumed: true, from: 's1', to: 's2' });
        expect(step?.bytesExpected).toBeGreaterThan(0);
        expect(sender.sends[0]?.bytes).toBeLessThan(12 * MiB - 2 * MiB);
        expect(snapshotGuids(`${dst}/big`)).toEqual(snapshotGuids(`${src}/big`));
      },
    );

    openzfs(
      'a stale resume token (its snapshot destroyed on the sender): fails naming zfs recv -A; clear replicates',
      async () => {
        writeRandom(`${src}/big`, 'c.bin', 6 * MiB);
        zfs('snapshot', `${src}/big@s3`);
        const controller = new AbortController();
        const cancelled = recordingSender(zfsSender({ root: src }), {
          cut: {
            atBytes: 2 * MiB,
            how: () => controller.abort(new Error('cancelled by the test')),
          },
        });
        expect((await replicateOnce(cancelled, dst, { signal: controller.signal })).state).toBe(
          'cancelled',
        );
        expect(zfsGet('receive_resume_token', `${dst}/big`)).toMatch(/^1-/);
        zfs('destroy', `${src}/big@s3`); // no hold left by the cancelled run stops this
        writeRandom(`${src}/big`, 'd.bin', 64 << 10);
        zfs('snapshot', `${src}/big@s4`);

        const failed = await replicateOnce(zfsSender({ root: src }), dst);
        expect(failed.state).toBe('failed');
        const big = failed.attempts[0]?.filesystems.find((fs) => fs.info.name === 'big');
        expect(big?.planError?.err).toContain(`zfs recv -A ${dst}/big`);
        expect(big?.planError?.err).toContain('--on-stale-resume-token clear');
        expect(zfsGet('receive_resume_token', `${dst}/big`)).toMatch(/^1-/);

        const sender = recordingSender(zfsSender({ root: src }));
        const report = await replicateOnce(sender, dst, { onStaleResumeToken: 'clear' });
        expect(report.state).toBe('done');
        expect(sender.sends).toEqual([
          expect.objectContaining({ from: 's2', to: 's4', resumed: false }),
        ]);
        expect(zfsGet('receive_resume_token', `${dst}/big`)).toBe('-');
        expect(snapshotGuids(`${dst}/big`)).toEqual(snapshotGuids(`${src}/big`));
      },
    );
  });

  describe('holds and the replication cursor', () => {
    let src: string;
    let dst: string;
    const job = 'default';

    openzfs(
      'after a successful run the only hold is the last-received hold on the receiver; the sender keeps a cursor bookmark',
      async () => {
        ({ src, dst } = roots('cursor'));
        zfs('create', `${src}/fs`);
        writeRandom(`${src}/fs`, 'a.bin', 2 * MiB);
        zfs('snapshot', `${src}/fs@s1`);
        const report = await replicateOnce(zfsSender({ root: src }), dst);
        expect(report.state).toBe('done');
        expect(holdsBelow(src)).toEqual([]);
        expect(holdsBelow(dst)).toEqual([`${dst}/fs@s1 xrepl_last_received_${job}`]);
        expect(bookmarks(`${src}/fs`)).toEqual([
          `#xrepl_cursor_${job}_${zfsGet('guid', `${src}/fs@s1`)}`,
        ]);
      },
    );

    openzfs(
      'the common snapshot destroyed on the sender: the next run is incremental from the cursor bookmark',
      async () => {
        const fullSize = (await fullSendSize(src, 'fs', 's1')) ?? 0;
        zfs('destroy', `${src}/fs@s1`);
        writeRandom(`${src}/fs`, 'b.bin', 64 << 10);
        zfs('snapshot', `${src}/fs@s2`);
        const sender = recordingSender(zfsSender({ root: src }));
        const report = await replicateOnce(sender, dst);
        expect(report.state).toBe('done');
        const [step] = stepsOf(report);
        expect(step).toMatchObject({ to: 's2', resumed: false });
        expect(step?.from).toMatch(/xrepl_cursor_default_\d+$/);
        expect(step?.bytesExpected).toBeGreaterThan(0);
        expect(step?.bytesExpected).toBeLessThan(fullSize / 4);
        expect(sender.sends).toHaveLength(1);
        expect(sender.sends[0]?.bytes).toBeGreaterThan(64 << 10);
        expect(sender.sends[0]?.bytes).toBeLessThan(fullSize / 4);
        expect(snapshotGuids(`${dst}/fs`).map((s) => s.split(' ')[0])).toEqual(['s1', 's2']);
        expect(holdsBelow(src)).toEqual([]);
        expect(holdsBelow(dst)).toEqual([`${dst}/fs@s2 xrepl_last_received_${job}`]);
        expect(bookmarks(`${src}/fs`)).toEqual([
          `#xrepl_cursor_${job}_${zfsGet('guid', `${src}/fs@s2`)}`,
        ]);
      },
    );

    openzfs(
      "during a step the sender's from and to are held: zfs destroy of either fails",
      async () => {
        writeRandom(`${src}/fs`, 'c.bin', 256 << 10);
        zfs('snapshot', `${src}/fs@s3`);
        const seen: string[][] = [];
        const refusals: string[] = [];
        const sender = recordingSender(zfsSender({ root: src }), {
          duringStep: (req) => {
            seen.push(holdsBelow(`${src}/${req.filesystem}`));
            for (const name of [req.from?.name, req.to.name]) {
              try {
                zfs('destroy', `${src}/${req.filesystem}@${name}`);
                refusals.push(`${name}: destroyed`);
              } catch (err) {
                refusals.push(`${name}: ${(err as Error).message.split(': ').at(-1)}`);
              }
            }
          },
        });
        const report = await replicateOnce(sender, dst);
        expect(report.state).toBe('done');
        expect(seen).toEqual([
          [`${src}/fs@s2 xrepl_step_${job}`, `${src}/fs@s3 xrepl_step_${job}`],
        ]);
        expect(refusals).toEqual(['s2: dataset is busy', 's3: dataset is busy']);
        expect(holdsBelow(src)).toEqual([]);
        expect(holdsBelow(dst)).toEqual([`${dst}/fs@s3 xrepl_last_received_${job}`]);
      },
    );
  });

  describe('encrypted datasets', () => {
    let src: string;
    let dst: string;
    let key: string;

    openzfs(
      'sending an encrypted dataset decrypted is refused unless asked for: nothing arrives',
      async () => {
        ({ src, dst } = roots('crypt'));
        key = join(pools.dir, 'crypt.key');
        writeFile(key, `${'0123456789abcdef'.repeat(4)}\n`);
        zfs(
          'create',
          ...['-o', 'encryption=aes-256-gcm', '-o', 'keyformat=hex'],
          ...['-o', `keylocation=file://${key}`, `${src}/secret`],
        );
        writeFile(join(zfsGet('mountpoint', `${src}/secret`), 'diary.txt'), 'dear diary\n');
        writeRandom(`${src}/secret`, 'blob.bin', 512 << 10);
        zfs('snapshot', `${src}/secret@s1`);
        const send: ZfsSendOptions = { raw: false };
        const report = await replicateOnce(zfsSender({ root: src, send }), dst);
        expect(report.state).toBe('failed');
        const errors = JSON.stringify(report.attempts[0]?.filesystems);
        expect(errors).toMatch(/refusing to send encrypted \S+secret decrypted/);
        expect(zfs('list', '-H', '-r', '-o', 'name', dst).trim()).toBe(dst);
      },
    );

    openzfs(
      'xrepl replicate sends it raw: it arrives encrypted, key unavailable; after zfs load-key the content matches',
      async () => {
        const { code, io } = await run([
          ...['replicate', '--from', `zfs:${src}`, '--to', `zfs:${dst}`, '--json'],
        ]);
        expect(code).toBe(0);
        expect(io.err).toMatch(/^done: 1 filesystem, 1 snapshot received/);
        const report = ReportSchema.parse(JSON.parse(io.out));
        expect(stepsOf(report)[0]?.bytesExpected).toBeGreaterThan(0);
        const secret = `${dst}/secret`;
        expect(zfsGet('encryption', secret)).toBe('aes-256-gcm');
        expect(zfsGet('keystatus', secret)).toBe('unavailable');
        expect(zfsGet('encryptionroot', secret)).toBe(secret);
        expect(snapshotGuids(secret)).toEqual(snapshotGuids(`${src}/secret`));
        zfs('load-key', '-L', `file://${key}`, secret);
        expect(zfsGet('keystatus', secret)).toBe('available');
        zfs('mount', secret);
        try {
          const copy = fileTree(zfsGet('mountpoint', secret));
          expect([...copy.keys()]).toEqual(['blob.bin', 'diary.txt']);
          expect(copy).toEqual(fileTree(zfsGet('mountpoint', `${src}/secret`)));
        } finally {
          zfs('umount', secret);
        }
      },
    );
  });
});
