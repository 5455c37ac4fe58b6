import { statusText } from '../../src/cli/status.js';
import type { DaemonStatus } from '../../src/jobs/runtime.js';

const NOW = Date.UTC(2026, 11, 3, 12);

describe('xrepl status as text', () => {
  test('a job with its error, last snapshot, run, prunes and datasets', () => {
    const status = JSON.parse(
      JSON.stringify({
        jobs: [
          {
            name: 'home',
            type: 'push',
            state: 'replicating-error',
            lastError: {
              during: 'replicating',
              err: 'receiver unreachable',
              time: new Date(NOW - 30_000),
            },
            cycles: 7,
            nextTick: new Date(NOW + 60_000),
            lastSnapshot: {
              name: 'xrepl_20261203T115900Z',
              datasets: ['tank/home'],
              time: new Date(NOW - 60_000),
            },
            run: null,
            lastPrune: {
              sender: { side: 'sender', datasets: 1, destroyed: 2, destroyedNames: [] },
              receiver: null,
            },
            datasets: [
              {
                dataset: 'tank/home',
                behindSince: new Date(NOW - 3 * 3_600_000),
                lastSuccess: null,
              },
            ],
            serving: null,
          },
          {
            name: 'in',
            type: 'sink',
            state: 'idle',
            lastError: null,
            cycles: 0,
            nextTick: null,
            lastSnapshot: null,
            run: null,
            lastPrune: { sender: null, receiver: null },
            datasets: [],
            serving: { url: 'grpc://0.0.0.0:7000', error: null },
          },
        ],
      } satisfies DaemonStatus),
    ) as DaemonStatus;
    expect(statusText(status, NOW).split('\n')).toEqual([
      'home (push): replicating-error, 7 cycle(s), next 2026-12-03T12:01:00.000Z',
      '  error in replicating 30s ago: receiver unreachable',
      '  last snapshot xrepl_20261203T115900Z of 1 dataset(s)',
      '  pruned sender: 2 destroyed over 1 dataset(s)',
      '  tank/home: behind since 3h ago, last success -',
      'in (sink)',
      '  serving at grpc://0.0.0.0:7000',
      '',
    ]);
  });
});
