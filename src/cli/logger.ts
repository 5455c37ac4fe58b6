/** Structured logs (pino, JSON lines) to stderr, routed so they do not tear the progress display. */
import { pino, type Logger as PinoLogger } from 'pino';
import type { TextSink } from './io.js';
import type { LogLevel } from './options.js';

/**
 * A pino logger writing each line through `print` (the display's, so a terminal frame is
 * erased and redrawn around it) to `sink`.
 */
export function createLogger(
  level: LogLevel,
  sink: TextSink,
  print: (write: () => void) => void = (write) => write(),
): PinoLogger {
  return pino({ name: 'xrepl', level }, { write: (line: string) => print(() => sink.write(line)) });
}
