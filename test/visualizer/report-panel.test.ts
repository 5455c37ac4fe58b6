import { isReportJson, reportProblem } from '../../visualizer/web/check.js';
import type { ReportJson } from '../../visualizer/web/protocol.js';
import { reportHtml } from '../../visualizer/web/report-panel.js';
import { rowHtml } from '../../visualizer/web/tree.js';
import type { TreeRow } from '../../visualizer/web/tree-rows.js';

const at = (s: number): string => new Date(Date.UTC(2024, 0, 1, 12, 0, s)).toISOString();

function report(over: Partial<ReportJson> = {}): ReportJson {
  return {
    state: 'attempting',
    startAt: at(0),
    finishAt: null,
    waitReconnectSince: null,
    waitReconnectUntil: null,
    waitReconnectError: null,
    attempts: [
      {
        state: 'fan-out-filesystems',
        startAt: at(0),
        finishAt: null,
        planError: null,
        filesystems: [
          {
            info: { name: 'pool/a' },
            state: 'stepping',
            blockedOn: 'nothing',
            planError: null,
            stepError: null,
            currentStep: 1,
            replans: 0,
            retries: 0,
            retryError: null,
            retryAt: null,
            steps: [
              {
                info: {
                  from: '',
                  to: 's1',
                  resumed: false,
                  bytesExpected: 1000,
                  bytesReplicated: 1000,
                },
              },
              {
                info: {
                  from: 's1',
                  to: 's2',
                  resumed: true,
                  bytesExpected: 1000,
                  bytesReplicated: 250,
                },
              },
            ],
          },
          {
            info: { name: 'pool/<b>' },
            state: 'step-error',
            blockedOn: 'nothing',
            planError: null,
            stepError: { err: 'disk full', time: at(7) },
            currentStep: 0,
            replans: 0,
            retries: 0,
            retryError: null,
            retryAt: null,
            steps: [
              {
                info: {
                  from: '',
                  to: 's1',
                  resumed: false,
                  bytesExpected: 500,
                  bytesReplicated: 0,
                },
              },
            ],
          },
        ],
      },
    ],
    ...over,
  };
}

const noSelection = { attempt: null, fsIndex: null, queue: null };

describe('the report panel', () => {
  test('totals for the attempt: filesystems by state, steps, bytes as a progress bar', () => {
    const html = reportHtml(report(), noSelection, Date.parse(at(10)));
    expect(html).toContain('Attempt 1');
    expect(html).toMatch(/steps<\/span><span class="v">1 \/ 3</);
    expect(html).toContain('1.3 KB / 2.5 KB');
    expect(html).toContain('width:50.00%');
    expect(html).toMatch(/stepping <b>1<\/b>.*step-error <b>1<\/b>/s);
  });

  test('a filesystem: its state, step i/n, each step with its bytes, and escaped names', () => {
    const html = reportHtml(report(), { ...noSelection, fsIndex: 0 }, 0);
    expect(html).toContain('<h3 class="fs-name" title="pool/a">pool/a</h3>');
    expect(html).toMatch(/step<\/span><span class="v">1 \/ 2</);
    expect(html).toContain('class="step-current"');
    expect(html).toContain('<span class="tag">resumed</span>');
    expect(html).toContain('250 B / 1.0 KB');
    expect(reportHtml(report(), { ...noSelection, fsIndex: 1 }, 0)).toContain('pool/&lt;b&gt;');
  });

  test('errors with their times, newest first, each linking to its filesystem', () => {
    const html = reportHtml(report(), noSelection, 0);
    expect(html).toContain('<li data-attempt="0" data-index="1">');
    expect(html).toContain('disk full');
    expect(html).toMatch(/<span class="time">\d\d:\d\d:07\.000<\/span>/);
  });

  test('the reconnect window while waiting, with the time left', () => {
    const waiting = report({
      state: 'waiting-reconnect',
      waitReconnectSince: at(10),
      waitReconnectUntil: at(70),
    });
    const html = reportHtml(waiting, noSelection, Date.parse(at(40)));
    expect(html).toContain('Waiting for reconnect');
    expect(html).toContain('(30.0 s left)');
    expect(html).toContain('width:50.00%');
  });

  test('a filesystem waiting to retry: when, how often, and why (D14); its state in the legend', () => {
    const waiting = report();
    Object.assign(waiting.attempts[0]!.filesystems[0]!, {
      state: 'retry-wait',
      blockedOn: 'retry-backoff',
      retries: 2,
      retryError: { err: '14 UNAVAILABLE: connection dropped', time: at(5) },
      retryAt: at(12),
    });
    const html = reportHtml(waiting, { ...noSelection, fsIndex: 0 }, Date.parse(at(10)));
    expect(html).toContain('<div class="healing waiting">');
    expect(html).toMatch(/retries<\/span><span class="v">2</);
    expect(html).toMatch(
      /retry at<\/span><span class="v">[^<]*12\.000 <span class="muted">\(in 2\.0 s\)/,
    );
    expect(html).toContain('retrying after');
    expect(html).toContain('14 UNAVAILABLE: connection dropped');
    expect(html).toMatch(/retry-wait <b>1<\/b>/);
    // A filesystem that never healed shows nothing of it.
    expect(reportHtml(report(), { ...noSelection, fsIndex: 0 }, 0)).not.toContain('healing');
  });

  test('no report yet says so', () => {
    expect(reportHtml(null, noSelection, 0)).toContain('No report yet');
  });
});

describe('the page checks the report shape', () => {
  test('a report passes; broken ones are named', () => {
    expect(isReportJson(report())).toBe(true);
    expect(reportProblem({ ...report(), state: 'sleeping' })).toBe('unknown run state sleeping');
    expect(reportProblem({ ...report(), startAt: 'yesterday' })).toBe('startAt is not a date');
    const broken = report();
    (broken.attempts[0]?.filesystems[1] as { steps: unknown }).steps = 'none';
    expect(reportProblem(broken)).toBe('attempt 0, filesystem 1 is malformed');
  });
});

describe('a tree row', () => {
  const row: TreeRow = {
    kind: 'fs',
    sessionId: 'x:5',
    depth: 2,
    label: 'pool/a',
    state: 'stepping',
    value: 'stepping.waiting-for-slot',
    status: 'active',
    blockedOn: 'repl-queue',
    step: { current: 1, total: 2 },
    bytes: { done: 1250, total: 2000 },
    error: null,
    job: null,
    childCount: 0,
    collapsed: false,
  };

  test('shows name, state, blockedOn, step i/n and a progress bar', () => {
    const html = rowHtml(row, true);
    expect(html).toContain('row-main selected');
    expect(html).toContain('title="blockedOn: repl-queue">queued<');
    expect(html).toContain('>1/2<');
    expect(html).toContain('width:62.5%');
    expect(html).toContain(
      '<span class="chip s-stepping" title="stepping.waiting-for-slot">stepping</span>',
    );
  });
});
