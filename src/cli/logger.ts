/**
 * Structured logs (pino) to stderr, routed through the progress display so they do not tear a
 * terminal frame. JSON lines for machines; on a terminal, one readable line each.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import type { TextSink } from './io.js';
import type { LogLevel } from './options.js';

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** `{"level":50,"msg":"x","fs":"a",...}` -> `error: x {"fs":"a"}` (pino's own fields left out). */
export function readableLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { level, msg, time: _time, pid: _pid, hostname: _host, name: _name, ...rest } = record;
  const fields = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return `${LEVEL_NAMES[level as number] ?? String(level)}: ${String(msg ?? '')}${fields}\n`;
}

/**
 * A pino logger writing each line through `print` (the display's) to `sink`, as JSON or, with
 * `readable`, as `level: message {fields}`.
 */
export function createLogger(
  level: LogLevel,
  sink: TextSink,
  options: { readable?: boolean; print?: (write: () => void) => void } = {},
): PinoLogger {
  const print = options.print ?? ((write: () => void) => write());
  const format = options.readable ? readableLine : (line: string) => line;
  return pino(
    { name: 'xrepl', level },
    { write: (line: string) => print(() => sink.write(format(line))) },
  );
}
