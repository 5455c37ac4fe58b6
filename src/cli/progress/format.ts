/** Text formatting of the progress display: sizes, rates, durations, bars, columns. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `1536` -> `1.5 KiB`; whole bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Bytes per second, e.g. `2.0 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** `950` -> `0.9s`, `75_000` -> `1m15s`, `3_700_000` -> `1h01m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A bar of `width` cells, filled by `fraction` (clamped to 0..1). */
export function bar(fraction: number, width: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(f * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/** `text` cut to `width` characters (with `…`) or padded to it. */
export function fit(text: string, width: number): string {
  if (text.length > width)
    return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
  return text.padEnd(width);
}

/** `text` cut to `width` (no padding): keeps a redrawn line on one terminal row. */
export function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}

/** `a/b` of bytes: `1.0 MiB / 4.0 MiB`, or just the replicated bytes when the total is unknown. */
export function formatProgress(done: number, total: number): string {
  return total > 0 ? `${formatBytes(done)} / ${formatBytes(total)}` : formatBytes(done);
}
