/**
 * `xrepl replicate` in-process over memory pools: exit codes, the receiver saved back to its
 * fixture, `--json`, plain progress lines, the terminal display, and Ctrl-C.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { SCHEMES, type EndpointScheme } from '../../src/cli/endpoints.js';
import { rootNameOf } from '../../src/cli/replicate.js';
import {
  MemoryPool,
  memoryReceiver,
  memorySender,
  type PoolFixture,
} from '../../src/endpoints/memory/index.js';
import type { Receiver } from '../../src/endpoints/types.js';
import { ReportSchema, type Report } from '../../src/report/schema.js';
import { deferred } from '../helpers/deferred.js';
import { fakeIO, lines, run, tempDir } from './helpers.js';

const ESC = '\x1b';
const at = (hour: number): string => new Date(Date.UTC(2024, 0, 1, hour)).toISOString();

function source(snapshots = ['s1', 's2']): PoolFixture {
  const snaps = snapshots.map((name, i) => ({ name, creation: at(i + 1), size: 10_000 }));
  return {
    seed: 'src',
    datasets: [
      { path: 'tank/data', snapshots: snaps },
      { path: 'tank/data/home', snapshots: snaps },
    ],
  };
}

/** `replicate` from the pool of fixture file `src` (rooted at tank) to `to`. */
const replicateArgs = (src: string, to: string, ...more: string[]): string[] => [
  'replicate',
  '--from',
  `memory:${src}?root=tank`,
  '--to',
  to,
  ...more,
];

function parseReport(json: string): Report {
  return ReportSchema.parse(JSON.parse(json));
}

describe('xrepl replicate over memory pools', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  test('initial replication, then an incremental one; the receiver is saved to its fixture', async () => {
    const src = tmp.file('src.json', source());
    const dst = tmp.file('dst-initial.json');
    const argv = replicateArgs(src, `memory:${dst}`);

    const first = await run([...argv, '--initial', 'all']);
    expect(first.code).toBe(0);
    expect(first.io.err).toBe('');
    const saved = MemoryPool.fromFixture(readFileSync(dst, 'utf8'));
    const sent = MemoryPool.fromFixture(readFileSync(src, 'utf8'));
    for (const path of ['data', 'data/home']) {
      expect(saved.get(`backup/${path}`)?.snapshots.map((s) => s.guid)).toEqual(
        sent.get(`tank/${path}`)?.snapshots.map((s) => s.guid),
      );
    }

    // A new snapshot on the sender (the fixture keeps its guids): only it is sent.
    const grown = MemoryPool.fromFixture(readFileSync(src, 'utf8'));
    grown.snapshot('tank/data', 's3', { creation: new Date(at(3)), size: 5_000 });
    writeFileSync(src, JSON.stringify(grown.toFixture()));
    const second = await run([...argv, '--json']);
    expect(second.code).toBe(0);
    const report = parseReport(second.io.out);
    expect(
      report.attempts[0]?.filesystems.map((fs) => [
        fs.info.name,
        fs.steps.map((s) => `${s.info.from}->${s.info.to}`),
      ]),
    ).toEqual([
      ['data', ['s2->s3']],
      ['data/home', []],
    ]);
  });

  test('--json prints only the final report on stdout, valid by ReportSchema', async () => {
    const src = tmp.file('src-json.json', source());
    const { code, io } = await run(replicateArgs(src, 'memory:', '--json'));
    expect(code).toBe(0);
    const report = parseReport(io.out);
    expect(report.state).toBe('done');
    expect(report.attempts).toHaveLength(1);
    expect(report.attempts[0]?.filesystems.map((fs) => fs.info.name)).toEqual([
      'data',
      'data/home',
    ]);
    expect(io.err).toMatch(/^done: 2 filesystems, 2 snapshots received/);
  });

  test('a diverged receiver is a conflict: exit 1, the error on stderr', async () => {
    const src = tmp.file('src-diverged.json', source());
    const sent = MemoryPool.fromFixture(readFileSync(src, 'utf8'));
    const s1 = sent.get('tank/data')?.snapshots[0];
    const dst = tmp.file('dst-diverged.json', {
      datasets: [
        {
          path: 'backup/data',
          snapshots: [
            { name: 's1', guid: s1?.guid, createTxg: '1', creation: at(1) },
            { name: 'local', creation: at(5) },
          ],
        },
      ],
    });
    const { code, io } = await run(replicateArgs(src, `memory:${dst}`, '--json'));
    expect(code).toBe(1);
    const report = parseReport(io.out);
    expect(report.state).toBe('failed');
    expect(lines(io.err).slice(-3)).toEqual([
      'failed: 2 filesystems, 0 snapshots received, 0 B in 0.0s (1 attempt)',
      'error: data: cannot replicate data: the receiver has diverged: after the common snapshot ' +
        '@s1 it has @local, which the sender does not have; roll the receiver back to @s1 ' +
        '(zfs rollback -r) to continue',
      'error: data/home: parent(s) failed during initial replication: data',
    ]);
  });

  test('without a terminal: one plain line per change, no escape sequences', async () => {
    const src = tmp.file('src-plain.json', source());
    const { code, io } = await run(replicateArgs(src, 'memory:', '--initial', 'all'));
    expect(code).toBe(0);
    expect(io.out).not.toContain('\x1b');
    // The timer never fired: the first report and the final one.
    expect(lines(io.out)).toEqual([
      'attempt 1: planning',
      'data: done 2/2 19.9 KiB / 19.9 KiB',
      'data/home: done 2/2 19.9 KiB / 19.9 KiB',
      'attempt 1: done',
      'run: done',
      'done: 2 filesystems, 4 snapshots received, 39.8 KiB in 0.0s (1 attempt)',
    ]);
    expect(io.timers()).toBe(0);
  });

  test('on a terminal the frame is redrawn in place and the last one stays', async () => {
    const src = tmp.file('src-tty.json', source());
    const io = fakeIO({ isTTY: true, columns: 80 });
    const { code } = await run(replicateArgs(src, 'memory:'), io);
    expect(code).toBe(0);
    const frames = io.out.split('\x1b[J');
    expect(frames).toHaveLength(2); // the first frame, then erased and redrawn once at the end
    expect(frames[0]).toMatch(new RegExp(`${ESC}\\[\\d+A\\r$`));
    expect(lines(frames[1] ?? '').slice(0, 3)).toEqual([
      'done  attempt 1: done  2/2 filesystems done  0.0s',
      '  data       done           1/1     19.7 KiB / 19.7 KiB',
      '  data/home  done           1/1     19.7 KiB / 19.7 KiB',
    ]);
  });
});

/** A scheme whose receive holds until its signal aborts (or, with `ignoreAbort`, until released). */
function blockingScheme(options: { ignoreAbort?: boolean } = {}): {
  scheme: EndpointScheme;
  receiving: Promise<void>;
  release(): void;
} {
  const receiving = deferred();
  const released = deferred();
  const scheme: EndpointScheme = {
    scheme: 'blocking',
    usage: 'blocking:  a receive that waits',
    async sender() {
      const pool = MemoryPool.fromFixture(source());
      return { endpoint: memorySender(pool, 'tank'), close: async () => {} };
    },
    async receiver() {
      const inner = memoryReceiver(new MemoryPool(), 'backup');
      const endpoint: Receiver = {
        listFilesystems: (signal) => inner.listFilesystems(signal),
        listFilesystemVersions: (fs, signal) => inner.listFilesystemVersions(fs, signal),
        waitForConnectivity: (signal) => inner.waitForConnectivity(signal),
        receive(_req, stream: Readable, signal) {
          receiving.resolve();
          return new Promise((_resolve, reject) => {
            const stop = (): void => {
              stream.destroy();
              reject(new Error('receive stopped'));
            };
            if (options.ignoreAbort) void released.promise.then(stop);
            else signal.addEventListener('abort', stop, { once: true });
          });
        },
      };
      return { endpoint, close: async () => {} };
    },
  };
  return { scheme, receiving: receiving.promise, release: () => released.resolve() };
}

describe('Ctrl-C', () => {
  test('stops the run through the driver signal: report cancelled, exit 130', async () => {
    const blocking = blockingScheme();
    const io = fakeIO();
    const running = run(['replicate', '--from', 'blocking:', '--to', 'blocking:', '--json'], io, {
      schemes: [...SCHEMES, blocking.scheme],
    });
    await blocking.receiving;
    io.interrupt();
    const { code } = await running;
    expect(code).toBe(130);
    expect(parseReport(io.out).state).toBe('cancelled');
    expect(io.err).toMatch(/^interrupted: stopping cleanly/);
    expect(io.exits).toEqual([]);
    expect(io.timers()).toBe(0);
  });

  test('a second Ctrl-C exits at once', async () => {
    const blocking = blockingScheme({ ignoreAbort: true });
    const io = fakeIO();
    const running = run(['replicate', '--from', 'blocking:', '--to', 'blocking:'], io, {
      schemes: [...SCHEMES, blocking.scheme],
    });
    await blocking.receiving;
    io.interrupt();
    expect(io.exits).toEqual([]);
    io.interrupt();
    expect(io.exits).toEqual([130]);
    expect(io.err).toMatch(/interrupted again: exiting now/);
    // The process would be gone; here the step is released so the run can end.
    blocking.release();
    expect((await running).code).toBe(130);
  });
});

describe("the root label of --from (the planner's rootName)", () => {
  test.each([
    ['zfs:tank/data', { rootName: 'data' }],
    ['zfs:tank', { rootName: 'tank' }],
    ['memory:src.json', {}],
  ])('%s gives %j', (from, expected) => {
    expect(rootNameOf(from)).toEqual(expected);
  });
});
