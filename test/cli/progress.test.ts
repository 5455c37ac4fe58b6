/** The progress display from fixed reports: the terminal frame, plain change lines, rates. */
import { createDisplay } from '../../src/cli/progress/display.js';
import { renderFrame } from '../../src/cli/progress/frame.js';
import { ChangeLines } from '../../src/cli/progress/plain.js';
import { Rate } from '../../src/cli/progress/rate.js';
import { progressView } from '../../src/cli/progress/view.js';
import type { FilesystemReport, Report } from '../../src/report/schema.js';

const t = (s: number): Date => new Date(Date.UTC(2024, 5, 1, 12, 0, s));
const MiB = 1 << 20;

function fs(
  name: string,
  partial: Partial<FilesystemReport> = {},
  steps: [number, number][] = [],
): FilesystemReport {
  return {
    info: { name },
    state: 'stepping',
    blockedOn: 'nothing',
    planError: null,
    stepError: null,
    currentStep: 0,
    replans: 0,
    retries: 0,
    retryError: null,
    retryAt: null,
    steps: steps.map(([expected, replicated], i) => ({
      info: {
        from: i === 0 ? '' : `s${i}`,
        to: `s${i + 1}`,
        resumed: false,
        bytesExpected: expected,
        bytesReplicated: replicated,
      },
    })),
    ...partial,
  };
}

function report(filesystems: FilesystemReport[], partial: Partial<Report> = {}): Report {
  return {
    state: 'attempting',
    startAt: t(0),
    finishAt: null,
    waitReconnectSince: null,
    waitReconnectUntil: null,
    waitReconnectError: null,
    attempts: [
      { state: 'fan-out-filesystems', startAt: t(0), finishAt: null, planError: null, filesystems },
    ],
    ...partial,
  };
}

/** A tree mid-run: done, transferring, waiting for parents and the queue, one failed. */
const midRun = report([
  fs('data', { state: 'done', currentStep: 2 }, [
    [4 * MiB, 4 * MiB],
    [MiB, MiB],
  ]),
  fs('data/home', { currentStep: 1 }, [
    [8 * MiB, 8 * MiB],
    [2 * MiB, 512 * 1024],
  ]),
  fs('data/home/alice', { blockedOn: 'parent-initial-repl' }, [[3 * MiB, 0]]),
  fs('data/home/alice/mail', { state: 'planning', blockedOn: 'plan-queue' }),
  fs('data/www', { blockedOn: 'repl-queue' }, [
    [5 * MiB, 0],
    [MiB, 0],
  ]),
  fs(
    'data/db',
    {
      state: 'step-error',
      currentStep: 0,
      stepError: { err: 'cannot receive: destination has been modified', time: t(3) },
    },
    [[6 * MiB, 3 * MiB]],
  ),
]);

describe('terminal frame', () => {
  const options = {
    columns: 100,
    maxRows: 20,
    now: t(7).getTime(),
    rates: new Map([['data/home', 3 * MiB]]),
    totalRate: 5 * MiB,
  };

  test('one row per filesystem: state, step i/n, bytes, rate, blockedOn or error; a total bar', () => {
    expect(renderFrame(progressView(midRun), options).join('\n')).toMatchSnapshot();
  });

  test('a big tree shows errors and transfers first, the rest as "... N more"', () => {
    const many = report([
      ...Array.from({ length: 30 }, (_, i) =>
        fs(`pool/fs${String(i).padStart(2, '0')}`, { state: 'done', currentStep: 1 }, [[MiB, MiB]]),
      ),
      fs('pool/late', {}, [[MiB, 100]]),
      fs('pool/queued', { blockedOn: 'repl-queue' }, [[MiB, 0]]),
    ]);
    const frame = renderFrame(progressView(many), { ...options, maxRows: 5 });
    expect(frame.slice(1, -1).map((l) => l.trim().split(/\s+/)[0])).toEqual([
      'pool/fs00',
      'pool/fs01',
      'pool/late',
      'pool/queued',
      '...',
    ]);
    expect(frame.at(-2)).toBe('  ... 28 more (28 done)');
  });

  test('every line fits the terminal width', () => {
    const frame = renderFrame(progressView(midRun), { ...options, columns: 40 });
    for (const line of frame) expect(line.length).toBeLessThanOrEqual(39);
  });

  test('without size estimates (zfs-fuse) rows show bytes only and the bar counts steps', () => {
    const unknown = report([
      fs('data', { state: 'done', currentStep: 1 }, [[0, 3 * MiB]]),
      fs('data/home', {}, [
        [0, MiB],
        [0, 0],
      ]),
    ]);
    const frame = renderFrame(progressView(unknown), options);
    expect(frame[2]).toMatch(/^ {2}data\/home +stepping +1\/2 +1\.0 MiB +3\.0 MiB\/s$/);
    expect(frame.at(-1)).toBe(
      `${'█'.repeat(10)}${'░'.repeat(20)}  33%  1/3 steps, 4.0 MiB  5.0 MiB/s`,
    );
  });

  test('waiting for a reconnect says so', () => {
    const waiting = report(
      [
        fs(
          'data',
          {
            state: 'step-error',
            stepError: { err: '14 UNAVAILABLE: connection dropped', time: t(2) },
          },
          [[MiB, 10]],
        ),
      ],
      {
        state: 'waiting-reconnect',
        waitReconnectSince: t(2),
        waitReconnectUntil: t(32),
      },
    );
    expect(renderFrame(progressView(waiting), options).slice(0, 2)).toEqual([
      'waiting-reconnect  attempt 1: fan-out-filesystems  0/1 filesystems done  7.0s',
      '  connection lost; waiting to reconnect until 12:00:32 UTC',
    ]);
  });

  test('a retry-wait row says when it retries and why; a re-planning row why (D13, D14)', () => {
    const healing = report([
      fs('data', {
        state: 'retry-wait',
        blockedOn: 'retry-backoff',
        retries: 2,
        retryError: { err: '14 UNAVAILABLE: connection dropped', time: t(5) },
        retryAt: t(9),
      }),
      fs('data/www', {
        state: 'planning',
        blockedOn: 'plan-queue',
        replans: 1,
        retryError: { err: 'cannot send data/www@s1: no snapshot', time: t(6) },
      }),
    ]);
    const frame = renderFrame(progressView(healing), { ...options, columns: 200 });
    expect(frame[1]).toMatch(
      /^ {2}data +retry-wait +- +retry 2 at 12:00:09 UTC \(in 2\.0s\): 14 UNAVAILABLE: connection dropped$/,
    );
    expect(frame[2]).toMatch(/^ {2}data\/www +planning +- +re-plan 1: cannot send data\/www@s1/);
    expect(new ChangeLines().lines(progressView(healing))).toEqual([
      'attempt 1: fan-out-filesystems',
      'data: retry-wait (retry 2 at 2024-06-01T12:00:09.000Z: 14 UNAVAILABLE: connection dropped)',
      'data/www: planning (re-plan 1: cannot send data/www@s1: no snapshot)',
    ]);
  });

  test('the display redraws in place and prints other text above the frame', () => {
    let out = '';
    const display = createDisplay({
      mode: 'tty',
      out: { write: (s: string) => (out += s) },
      columns: 100,
      rows: 30,
    });
    display.update(midRun, t(1).getTime());
    const height = renderFrame(progressView(midRun), options).length;
    out = '';
    display.print(() => (out += 'a log line\n'));
    expect(out.startsWith(`\x1b[${height}A\r\x1b[J` + 'a log line\n')).toBe(true);
    out = '';
    display.finish(midRun, t(2).getTime());
    display.update(midRun, t(3).getTime());
    display.print(() => (out += 'after the end\n'));
    // finish redraws once; its frame then stays, below it what comes next
    expect(out.split('\x1b[J')).toHaveLength(2);
    expect(out.endsWith('16.5 MiB / 30.0 MiB\nafter the end\n')).toBe(true);
  });
});

describe('plain progress lines', () => {
  test('one line per change of attempt, filesystem state or step, and run; nothing when unchanged', () => {
    const lines = new ChangeLines();
    const first = report([fs('data', { state: 'planning', blockedOn: 'plan-queue' })]);
    expect(lines.lines(progressView(first))).toEqual([
      'attempt 1: fan-out-filesystems',
      'data: planning',
    ]);
    expect(lines.lines(progressView(first))).toEqual([]);

    const stepping = report([
      fs('data', {}, [
        [MiB, 0],
        [MiB, 0],
      ]),
    ]);
    expect(lines.lines(progressView(stepping))).toEqual(['data: stepping 1/2 0 B / 2.0 MiB']);
    // Bytes moving is not a change.
    expect(
      lines.lines(
        progressView(
          report([
            fs('data', {}, [
              [MiB, 500],
              [MiB, 0],
            ]),
          ]),
        ),
      ),
    ).toEqual([]);

    const failed = report(
      [
        fs(
          'data',
          {
            state: 'step-error',
            currentStep: 1,
            stepError: { err: '14 UNAVAILABLE: gone', time: t(3) },
          },
          [
            [MiB, MiB],
            [MiB, 7],
          ],
        ),
      ],
      { state: 'waiting-reconnect', waitReconnectUntil: t(33) },
    );
    failed.attempts[0]!.state = 'filesystem-error';
    expect(lines.lines(progressView(failed))).toEqual([
      'data: step-error 2/2 1.0 MiB / 2.0 MiB: 14 UNAVAILABLE: gone',
      'attempt 1: filesystem-error',
      'run: waiting-reconnect until 2024-06-01T12:00:33.000Z',
    ]);
  });
});

describe('rates', () => {
  test('bytes per second over the window; a count going down starts afresh', () => {
    const rate = new Rate(2000);
    expect(rate.add(0, 0)).toBe(0);
    expect(rate.add(1000, MiB)).toBe(MiB);
    expect(rate.add(2000, 3 * MiB)).toBe(1.5 * MiB);
    expect(rate.add(3000, 4 * MiB)).toBe(1.5 * MiB); // window: 1000..3000
    expect(rate.add(4000, 0)).toBe(0);
  });
});
