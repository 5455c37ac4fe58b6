/**
 * The timeline: every frame received (live) or loaded (replay), and the model at any of them,
 * forwards and backwards. DOM-free.
 *
 * `head` is the model after the last frame, updated in place. Going back rebuilds from the
 * nearest checkpoint (a shallow model copy every `checkpointEvery` frames), so a seek costs
 * at most that many frames. A live timeline keeps at most `maxFrames` frames, forgetting the
 * oldest; and, as reports are big, it keeps a run's report in its history at most once per
 * `reportEveryMs` (the head always has the latest).
 */
import { applyFrame, cloneModel, emptyModel, type ModelState } from './model.js';
import type { EventMessage, Frame } from './protocol.js';

export interface TimelineOptions {
  checkpointEvery?: number;
  maxFrames?: number;
  reportEveryMs?: number;
}

/** An event with the frame it arrived in. */
export interface LoggedEvent {
  frame: number;
  msg: EventMessage;
}

export class Timeline {
  /** Frames kept, oldest first. */
  readonly frames: Frame[] = [];
  /** The model after the last frame. */
  readonly head: ModelState = emptyModel();
  /** Frames forgotten from the front (live): index 0 is frame number `dropped`. */
  dropped = 0;
  private base: ModelState = emptyModel();
  private readonly checkpoints = new Map<number, ModelState>();
  private readonly checkpointEvery: number;
  private readonly maxFrames: number;
  private readonly reportEveryMs: number;
  /** By job ('' for a lone run): when its report was last kept in the history. */
  private readonly lastKeptReport = new Map<string, number>();

  constructor(options: TimelineOptions = {}) {
    this.checkpointEvery = options.checkpointEvery ?? 50;
    this.maxFrames = options.maxFrames ?? Infinity;
    this.reportEveryMs = options.reportEveryMs ?? 0;
  }

  get length(): number {
    return this.frames.length;
  }

  /** Adds a frame at the end. */
  append(frame: Frame): void {
    applyFrame(this.head, frame);
    this.frames.push(this.thinned(frame));
    const index = this.frames.length - 1;
    if ((index + this.dropped) % this.checkpointEvery === this.checkpointEvery - 1) {
      this.checkpoints.set(index + this.dropped, cloneModel(this.head));
    }
    // Forget in chunks of a checkpoint interval, so the new base is usually a checkpoint.
    if (this.frames.length > this.maxFrames) {
      this.forget(
        Math.min(
          this.frames.length - 1,
          this.frames.length - this.maxFrames + this.checkpointEvery,
        ),
      );
    }
  }

  /** The model after frame `index` (0-based within `frames`); the head for the last one. */
  stateAt(index: number): ModelState {
    const last = this.frames.length - 1;
    if (index >= last) return this.head;
    if (index < 0) return this.base;
    let from = -1;
    let model = this.base;
    for (const [abs, cp] of this.checkpoints) {
      const i = abs - this.dropped;
      if (i <= index && i > from) {
        from = i;
        model = cp;
      }
    }
    const out = cloneModel(model);
    for (let i = from + 1; i <= index; i++) applyFrame(out, this.frames[i] as Frame);
    return out;
  }

  /** The newest `max` events up to and including frame `index`, newest last; `filter` picks actors. */
  eventsUpTo(index: number, max: number, filter?: (sessionId: string) => boolean): LoggedEvent[] {
    const out: LoggedEvent[] = [];
    for (let i = Math.min(index, this.frames.length - 1); i >= 0 && out.length < max; i--) {
      const msgs = (this.frames[i] as Frame).messages;
      for (let j = msgs.length - 1; j >= 0 && out.length < max; j--) {
        const m = msgs[j];
        if (m?.type === '@xstate.event' && (filter === undefined || filter(m.sessionId))) {
          out.push({ frame: i, msg: m });
        }
      }
    }
    return out.reverse();
  }

  private thinned(frame: Frame): Frame {
    if (this.reportEveryMs <= 0) return frame;
    if (!frame.messages.some((m) => m.type === '@xrepl.report')) return frame;
    const messages = frame.messages.filter((m) => {
      if (m.type !== '@xrepl.report') return true;
      const key = m.job ?? '';
      const state = m.report.state;
      const final = state === 'done' || state === 'failed' || state === 'cancelled';
      if (!final && frame.time - (this.lastKeptReport.get(key) ?? -Infinity) < this.reportEveryMs)
        return false;
      this.lastKeptReport.set(key, frame.time);
      return true;
    });
    return messages.length === frame.messages.length ? frame : { ...frame, messages };
  }

  private forget(count: number): void {
    this.base = this.stateAt(count - 1);
    if (this.base === this.head) this.base = cloneModel(this.head);
    this.frames.splice(0, count);
    this.dropped += count;
    for (const abs of this.checkpoints.keys()) {
      if (abs < this.dropped) this.checkpoints.delete(abs);
    }
  }
}
