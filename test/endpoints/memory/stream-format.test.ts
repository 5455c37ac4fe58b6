/**
 * The simulated stream's payload: the receiver checks chunks against the pattern in place
 * (payloadMatches) instead of rebuilding the expected bytes; both must agree on every offset,
 * including chunks that wrap around the 64 KiB pattern.
 */
import {
  CHUNK_SIZE,
  payloadBytes,
  payloadMatches,
  payloadPattern,
} from '../../../src/endpoints/memory/stream-format.js';

const pattern = payloadPattern('12345678901234567890');

describe('payloadMatches', () => {
  const cases: [number, number][] = [
    [0, 1],
    [0, CHUNK_SIZE],
    [7, CHUNK_SIZE], // wraps once
    [CHUNK_SIZE - 1, 2], // one byte on each side of the wrap
    [3 * CHUNK_SIZE + 100, 2 * CHUNK_SIZE + 5], // starts late, wraps twice
    [123_456, 0],
  ];

  test.each(cases)('accepts the payload bytes at %i, length %i', (start, length) => {
    expect(payloadMatches(pattern, start, payloadBytes(pattern, start, length))).toBe(true);
  });

  test.each(cases.filter(([, length]) => length > 0))(
    'refuses them with any one byte changed (start %i, length %i)',
    (start, length) => {
      const bytes = payloadBytes(pattern, start, length);
      for (const at of new Set([
        0,
        length >> 1,
        length - 1,
        CHUNK_SIZE - 1 - (start % CHUNK_SIZE),
      ])) {
        if (at < 0 || at >= length) continue;
        const changed = Buffer.from(bytes);
        changed[at] = (changed[at] as number) ^ 0xff;
        expect(payloadMatches(pattern, start, changed)).toBe(false);
      }
    },
  );

  test('refuses the right bytes at the wrong offset', () => {
    const bytes = payloadBytes(pattern, 1000, 5000);
    expect(payloadMatches(pattern, 1004, bytes)).toBe(false);
  });
});
