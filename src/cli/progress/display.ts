/**
 * The progress display of a run, fed with reports on a timer: redrawn in place on a
 * terminal, plain lines on changes otherwise, nothing with `--json`.
 */
import type { Report } from '../../report/schema.js';
import type { TextSink } from '../io.js';
import { renderFrame } from './frame.js';
import { ChangeLines } from './plain.js';
import { Rates } from './rate.js';
import { progressView } from './view.js';

export interface ProgressDisplay {
  /** Shows `report` as of `now` (ms). */
  update(report: Report, now: number): void;
  /** Shows the final report; a terminal keeps the last frame on screen. */
  finish(report: Report, now: number): void;
  /** Runs `write` (which prints something else, e.g. a log line) without tearing the display. */
  print(write: () => void): void;
}

export interface DisplayOptions {
  mode: 'tty' | 'plain' | 'none';
  out: TextSink;
  columns?: number;
  rows?: number;
}

const TOTAL = '\u0000total';

/** Redraws a frame in place: cursor up over the previous frame, clear below, draw. */
class TtyDisplay implements ProgressDisplay {
  private readonly rates = new Rates();
  private lastFrame: string[] = [];
  private drawn = 0;
  private finished = false;

  constructor(
    private readonly out: TextSink,
    private readonly columns: number,
    private readonly maxRows: number,
  ) {}

  update(report: Report, now: number): void {
    if (this.finished) return;
    const view = progressView(report);
    const counts = new Map(view.rows.map((r) => [r.name, r.bytes]));
    counts.set(TOTAL, view.bytes);
    const rates = this.rates.sample(now, counts);
    this.lastFrame = renderFrame(view, {
      columns: this.columns,
      maxRows: this.maxRows,
      now,
      rates,
      totalRate: rates.get(TOTAL) ?? 0,
    });
    this.draw();
  }

  finish(report: Report, now: number): void {
    this.update(report, now);
    this.finished = true;
    this.drawn = 0; // the last frame stays
  }

  print(write: () => void): void {
    if (this.finished) {
      write();
      return;
    }
    this.erase();
    write();
    this.draw();
  }

  private erase(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\r\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    this.erase();
    if (this.lastFrame.length === 0) return;
    this.out.write(`${this.lastFrame.join('\n')}\n`);
    this.drawn = this.lastFrame.length;
  }
}

class PlainDisplay implements ProgressDisplay {
  private readonly changes = new ChangeLines();

  constructor(private readonly out: TextSink) {}

  update(report: Report): void {
    const lines = this.changes.lines(progressView(report));
    if (lines.length > 0) this.out.write(`${lines.join('\n')}\n`);
  }

  finish(report: Report): void {
    this.update(report);
  }

  print(write: () => void): void {
    write();
  }
}

const silentDisplay: ProgressDisplay = {
  update() {},
  finish() {},
  print(write) {
    write();
  },
};

/** The display for `options.mode`; a terminal's frame leaves room for header, bar and one spare row. */
export function createDisplay(options: DisplayOptions): ProgressDisplay {
  if (options.mode === 'none') return silentDisplay;
  if (options.mode === 'plain') return new PlainDisplay(options.out);
  const rows = options.rows ?? 30;
  return new TtyDisplay(options.out, options.columns ?? 100, Math.max(3, Math.min(20, rows - 6)));
}
