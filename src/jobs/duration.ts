/** Durations of the config file: `30s`, `15m`, `1h30m`, `14d` (ms, s, m, h, d). */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of `text`, or undefined when it is not a positive duration with units. */
export function durationMs(text: string): number | undefined {
  if (!/^(?:\d+(?:ms|s|m|h|d))+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    ms += Number(n) * (UNIT_MS[unit ?? ''] ?? NaN);
  }
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
