import { nextTick, schedule, snapshotName } from '../../src/jobs/schedule.js';
import { fakeTimers } from './fakes.js';

const at = (iso: string) => new Date(iso);

describe('schedules', () => {
  test('periodic: at start, then every interval', () => {
    const cfg = { type: 'periodic' as const, interval: '15m', prefix: 'x_', hooks: [] };
    expect(nextTick(cfg, at('2026-12-03T10:07:00Z'), true)).toEqual(at('2026-12-03T10:07:00Z'));
    expect(nextTick(cfg, at('2026-12-03T10:07:00Z'), false)).toEqual(at('2026-12-03T10:22:00Z'));
  });

  test('cron: the next matching minute in UTC, never the current one again', () => {
    const cfg = { type: 'cron' as const, cron: '*/15 * * * *', prefix: 'x_', hooks: [] };
    expect(nextTick(cfg, at('2026-12-03T10:07:00Z'), true)).toEqual(at('2026-12-03T10:15:00Z'));
    expect(nextTick(cfg, at('2026-12-03T10:15:00Z'), false)).toEqual(at('2026-12-03T10:30:00Z'));
  });

  test('manual: never', () => {
    expect(nextTick({ type: 'manual', prefix: 'x_', hooks: [] }, new Date(), true)).toBeUndefined();
  });

  test('schedule fires at each time and stops', () => {
    const clock = fakeTimers(Date.UTC(2026, 11, 3, 10, 7));
    const fired: string[] = [];
    const cfg = { type: 'cron' as const, cron: '0 * * * *', prefix: 'x_', hooks: [] };
    const s = schedule(
      clock.timers,
      clock.now,
      (now, first) => nextTick(cfg, now, first),
      () => fired.push(clock.now().toISOString()),
    );
    expect(s.nextAt()).toEqual(at('2026-12-03T11:00:00Z'));
    clock.advance(2 * 3_600_000);
    expect(fired).toEqual(['2026-12-03T11:00:00.000Z', '2026-12-03T12:00:00.000Z']);
    s.stop();
    clock.advance(3_600_000);
    expect(fired).toHaveLength(2);
    expect(clock.pending()).toBe(0);
  });

  test('a tick further away than a timer can hold is re-armed, not fired early', () => {
    const clock = fakeTimers(0);
    const fired: number[] = [];
    const far = 30 * 86_400_000; // 30 days > 2^31-1 ms
    const s = schedule(
      clock.timers,
      clock.now,
      (now, first) => (first ? new Date(now.getTime() + far) : undefined),
      () => fired.push(clock.now().getTime()),
    );
    clock.advance(2 ** 31);
    expect(fired).toEqual([]);
    clock.advance(far);
    expect(fired).toEqual([far]);
    s.stop();
  });

  test('snapshot names are sortable UTC times to the second', () => {
    expect(snapshotName('xrepl_', at('2026-12-03T10:15:00.999Z'))).toBe('xrepl_20261203T101500Z');
  });
});
