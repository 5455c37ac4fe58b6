/**
 * Recordings: frames as JSON Lines. Each frame is a `@xrepl.frame` header line followed by
 * its messages, one a line, so a recording can be appended to, tailed and grepped.
 *
 * Reports are big (every filesystem with its steps), so the recorder writes at most one
 * report per `reportEveryMs` (default 1 s) of each run (a daemon's jobs each have theirs) and
 * always the last one, on close; every other message is written.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ReportSchema } from '../../src/report/schema.js';
import type { DaemonMessage, Frame, FrameHeader, Message, ReportMessage } from '../web/protocol.js';
import { DaemonJobsSchema } from './daemon-feed.js';

export interface RecorderOptions {
  /** Minimum time between two recorded reports (default 1000 ms); the last is always kept. */
  reportEveryMs?: number;
}

/**
 * Appends frames to a JSON Lines file (created, with its directory, if missing).
 *
 * @example
 * const rec = new Recorder('run.jsonl');
 * rec.write(frame);
 * rec.close();
 */
export class Recorder {
  private fd: number | null;
  private readonly reportEveryMs: number;
  /** By job ('' for a lone run): when its report was last written. */
  private readonly lastReportAt = new Map<string, number>();
  /** By job: a report held back by the rate limit; written with a later frame or on close. */
  private readonly heldReports = new Map<string, { frame: Frame; msg: ReportMessage }>();

  constructor(
    readonly file: string,
    options: RecorderOptions = {},
  ) {
    mkdirSync(dirname(file), { recursive: true });
    this.fd = openSync(file, 'a');
    this.reportEveryMs = options.reportEveryMs ?? 1000;
  }

  /** Appends one frame. */
  write(frame: Frame): void {
    if (this.fd === null) return;
    const messages: Message[] = [];
    for (const m of frame.messages) {
      if (m.type !== '@xrepl.report') {
        messages.push(m);
        continue;
      }
      const key = m.job ?? '';
      const last = this.lastReportAt.get(key) ?? -Infinity;
      if (frame.time - last >= this.reportEveryMs || isFinal(m)) {
        messages.push(m);
        this.lastReportAt.set(key, frame.time);
        this.heldReports.delete(key);
      } else {
        this.heldReports.set(key, { frame, msg: m });
      }
    }
    if (messages.length > 0) this.append({ ...frame, messages });
  }

  /** Writes the held-back reports, if any, and closes the file. */
  close(): void {
    if (this.fd === null) return;
    for (const held of this.heldReports.values()) {
      this.append({ ...held.frame, droppedEvents: 0, messages: [held.msg] });
    }
    this.heldReports.clear();
    closeSync(this.fd);
    this.fd = null;
  }

  private append(frame: Frame): void {
    const header: FrameHeader = {
      type: '@xrepl.frame',
      seq: frame.seq,
      time: frame.time,
      droppedEvents: frame.droppedEvents,
    };
    const lines = [JSON.stringify(header), ...frame.messages.map((m) => JSON.stringify(m))];
    writeSync(this.fd as number, `${lines.join('\n')}\n`);
  }
}

function isFinal(msg: ReportMessage): boolean {
  const s = msg.report.state;
  return s === 'done' || s === 'failed' || s === 'cancelled';
}

/**
 * Parses a recording's text into frames. Messages before the first frame header form a frame
 * of their own. Every report is validated with `ReportSchema`, every daemon status with
 * `DaemonJobsSchema`; a bad line throws an error naming the line.
 */
export function parseRecording(text: string, source = 'recording'): Frame[] {
  const frames: Frame[] = [];
  let current: Frame | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new Error(`${source}:${i + 1}: not JSON; is this a recording made with --record?`, {
        cause,
      });
    }
    const type = (value as { type?: unknown } | null)?.type;
    if (typeof type !== 'string') {
      throw new Error(
        `${source}:${i + 1}: a line without "type"; is this a recording made with --record?`,
      );
    }
    if (type === '@xrepl.frame') {
      const h = value as FrameHeader;
      current = { seq: h.seq, time: h.time, droppedEvents: h.droppedEvents ?? 0, messages: [] };
      frames.push(current);
      continue;
    }
    if (type === '@xrepl.report' || type === '@xrepl.daemon') {
      const parsed =
        type === '@xrepl.report'
          ? ReportSchema.safeParse((value as ReportMessage).report)
          : DaemonJobsSchema.safeParse((value as DaemonMessage).jobs);
      if (!parsed.success) {
        const what = type === '@xrepl.report' ? 'report' : 'daemon status';
        throw new Error(`${source}:${i + 1}: invalid ${what}: ${parsed.error.message}`, {
          cause: parsed.error,
        });
      }
    }
    if (current === null) {
      current = {
        seq: 0,
        time: Number((value as { createdAt?: string }).createdAt) || 0,
        droppedEvents: 0,
        messages: [],
      };
      frames.push(current);
    }
    current.messages.push(value as Message);
  }
  return frames;
}

/** Reads and parses a recording file (see `parseRecording`). */
export function readRecording(file: string): Frame[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new Error(`cannot read recording ${file}: check the path given to --replay`, { cause });
  }
  return parseRecording(text, file);
}
