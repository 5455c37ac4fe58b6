/** The progress pacer: reports take at most a share of the time, whatever their cost. */
import { progressPacer } from '../../src/report/pacer.js';

describe('progressPacer', () => {
  test('cheap reports are always due', () => {
    const pacer = progressPacer(0.1);
    for (let t = 0; t < 1000; t += 200) {
      expect(pacer.due(t)).toBe(true);
      pacer.spent(t, t);
    }
  });

  test('after a report of 300 ms the next waits 2.7 s (10 %), then the pace follows the cost', () => {
    const pacer = progressPacer(0.1);
    expect(pacer.due(0)).toBe(true);
    pacer.spent(0, 300);
    expect(pacer.due(2999)).toBe(false);
    expect(pacer.due(3000)).toBe(true);
    pacer.spent(3000, 3010); // a cheaper report: 90 ms later is fine again
    expect(pacer.due(3099)).toBe(false);
    expect(pacer.due(3100)).toBe(true);
  });

  test('the share is checked', () => {
    expect(() => progressPacer(0)).toThrow(RangeError);
    expect(() => progressPacer(1.5)).toThrow(RangeError);
    const always = progressPacer(1);
    always.spent(0, 500);
    expect(always.due(500)).toBe(true);
  });
});
