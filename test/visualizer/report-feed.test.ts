/**
 * The visualizer's report feed keeps report building to a tenth of the time (a report of a
 * large run is expensive), and still sends the final report at once.
 */
import type { Report } from '../../src/report/schema.js';
import { ReportFeed } from '../../visualizer/server/report-feed.js';
import { deferred } from '../helpers/deferred.js';

function reportAt(n: number, state: Report['state'] = 'attempting'): Report {
  return {
    state,
    startAt: new Date(n),
    finishAt: state === 'attempting' ? null : new Date(n),
    waitReconnectSince: null,
    waitReconnectUntil: null,
    waitReconnectError: null,
    attempts: [],
  };
}

describe('ReportFeed pacing', () => {
  test('a report that took 100 ms is not asked for again before 900 ms; the final one is', async () => {
    let clock = 0;
    let calls = 0;
    let state: Report['state'] = 'attempting';
    const end = deferred<void>();
    const source = {
      report(): Report {
        calls++;
        clock += 100; // building it takes 100 ms
        return reportAt(calls, state);
      },
      wait: () => end.promise,
    };
    const feed = new ReportFeed({ requestFlush: () => {}, now: () => clock });
    feed.attach(source);
    try {
      expect(feed.messages()).toHaveLength(1);
      expect([calls, clock]).toEqual([1, 100]);

      clock = 500; // due at 100 + 9 * 100 = 1000
      expect(feed.messages()).toEqual([]);
      expect(calls).toBe(1);

      clock = 1000;
      expect(feed.messages()).toHaveLength(1);
      expect(calls).toBe(2);

      // The run ends right after: its final report goes out though the next is not due yet.
      state = 'done';
      end.resolve();
      await end.promise;
      await Promise.resolve();
      clock = 1200;
      const [final] = feed.messages();
      expect(calls).toBe(3);
      expect(final).toMatchObject({ type: '@xrepl.report', report: { state: 'done' } });
    } finally {
      feed.stop();
    }
  });

  test('cheap reports are never held back', () => {
    let calls = 0;
    const feed = new ReportFeed({ requestFlush: () => {}, now: () => 0 });
    feed.attach({ report: () => reportAt(++calls) });
    try {
      for (let i = 0; i < 5; i++) expect(feed.messages()).toHaveLength(1);
      expect(calls).toBe(5);
    } finally {
      feed.stop();
    }
  });
});
