/**
 * The attempt's fan-out bookkeeping, with one owner (D6, D12): the filesystems of the plan as
 * they start and end, each one's count of ancestors not yet present, and the failures of
 * ancestors for filesystems not started yet. It is mutated in place, for speed at 100,000
 * filesystems (docs/design.md "How the fan-out and the queue stay fast", BENCHMARKS.md): one
 * FS_PRESENT of `pool` must not copy 100,000 counters, nor a chunk the array of references.
 *
 * The attempt chart's named actions call it; it decides who hears what and hands each event
 * to the `send` it is given (the chart's `enqueue.sendTo`), so events still leave the attempt
 * as XState actions do.
 */
import { createActor, type ActorRefFrom, type AnyActorRef } from 'xstate';
import {
  filesystemMachine,
  type FilesystemEvent,
  type FilesystemSnapshot,
} from './filesystem.machine.js';
import type { Healing } from './healing.js';
import type { Clock, PlannedFilesystem, PreparedPlan } from './types.js';

export type FilesystemActor = ActorRefFrom<typeof filesystemMachine>;

/**
 * A filesystem that has ended, held as its final snapshot only. The stopped actor around it
 * (mailbox, scope, listeners) is about 1.7 KB that nothing needs any more: 170 MB at 100,000
 * filesystems. Reports and the next attempt read the snapshot, as they would the actor's.
 */
export class EndedFilesystem {
  constructor(private readonly snapshot: FilesystemSnapshot) {}

  getSnapshot(): FilesystemSnapshot {
    return this.snapshot;
  }
}

/** A filesystem of an attempt: its actor while it runs, its final snapshot once it ended. */
export type FilesystemRef = FilesystemActor | EndedFilesystem;

/** A PARENT_FAILED for a filesystem not started yet: delivered when it starts. */
export interface ParentFailure {
  name: string;
  cause: unknown;
}

/** What every filesystem of the attempt is created with, beside its own plan entry. */
export interface FilesystemShared {
  /** The attempt: the filesystems' parent, told when one becomes present or fails. */
  attempt: AnyActorRef;
  queue: AnyActorRef;
  calls: AnyActorRef;
  now: Clock;
  healing: Healing;
}

/** How the fan-out sends an event to a filesystem: the chart's `enqueue.sendTo`. */
export type SendToFilesystem = (to: FilesystemActor, event: FilesystemEvent) => void;

/** The actor of a filesystem that is still running, or null. */
function runningActor(ref: FilesystemRef | undefined): FilesystemActor | null {
  if (ref === undefined || ref instanceof EndedFilesystem) return null;
  return ref.getSnapshot().status === 'active' ? ref : null;
}

export class FanOut {
  /**
   * The filesystems started so far, in plan order (all of them once the fan-out is over),
   * appended chunk by chunk; an actor that ended is replaced by its final snapshot.
   */
  readonly filesystems: FilesystemRef[] = [];
  /** parentsLeft[i]: ancestors of filesystem i not yet present on the receiver (D6). */
  private readonly parentsLeft: Int32Array;
  /** Ancestors' failures for filesystems not started yet, by index. */
  private readonly earlyFailures = new Map<number, ParentFailure[]>();

  constructor(private readonly plan: PreparedPlan) {
    this.parentsLeft = Int32Array.from(plan.filesystems, (f) => f.ancestors);
  }

  /** Whether every filesystem of the plan has started. */
  get allStarted(): boolean {
    return this.filesystems.length >= this.plan.filesystems.length;
  }

  /**
   * Creates the next `size` filesystems, like `spawn` would, with the attempt as parent but
   * outside its `children` map (see attempt.machine.ts), then starts them.
   */
  startNext(size: number, shared: FilesystemShared): void {
    const { plan, parentsLeft } = this;
    const from = this.filesystems.length;
    const to = Math.min(plan.filesystems.length, from + size);
    const chunk: FilesystemActor[] = [];
    for (let index = from; index < to; index++) {
      chunk.push(
        createActor(filesystemMachine, {
          id: `fs-${index}`,
          parent: shared.attempt,
          input: {
            index,
            planned: plan.filesystems[index] as PlannedFilesystem,
            parentsPending: (parentsLeft[index] as number) > 0 ? 1 : 0,
            hasDescendants: (plan.descendants[index]?.length ?? 0) > 0,
            attempt: shared.attempt,
            queue: shared.queue,
            calls: shared.calls,
            now: shared.now,
            healing: shared.healing,
          },
        }),
      );
    }
    for (const fs of chunk) this.filesystems.push(fs);
    for (const fs of chunk) fs.start();
  }

  /**
   * Tells the filesystems started from `from` on what happened before they existed: ancestors
   * that failed, and cancellation (D6, D10).
   */
  catchUp(from: number, cancel: { reason: unknown } | null, send: SendToFilesystem): void {
    for (let i = from; i < this.filesystems.length; i++) {
      const child = runningActor(this.filesystems[i]);
      if (child === null) continue;
      for (const f of this.earlyFailures.get(i) ?? []) {
        send(child, { type: 'PARENT_FAILED', name: f.name, cause: f.cause });
      }
      if (cancel !== null) send(child, { type: 'CANCEL', reason: cancel.reason });
    }
  }

  /**
   * Filesystem `index` is present: counts down its descendants' missing ancestors; one hears
   * PARENT_PRESENT once, when its last ancestor became present (one decrement per descendant
   * instead of one event).
   */
  present(index: number, send: SendToFilesystem): void {
    const left = this.parentsLeft;
    const started = this.filesystems.length;
    for (const d of this.plan.descendants[index] ?? []) {
      left[d] = (left[d] as number) - 1;
      if (left[d] !== 0 || d >= started) continue;
      const child = runningActor(this.filesystems[d]);
      if (child !== null) send(child, { type: 'PARENT_PRESENT' });
    }
  }

  /** Filesystem `index` failed before it was present: its descendants hear PARENT_FAILED. */
  failed(index: number, failure: ParentFailure, send: SendToFilesystem): void {
    const started = this.filesystems.length;
    for (const d of this.plan.descendants[index] ?? []) {
      if (d >= started) {
        const list = this.earlyFailures.get(d);
        if (list === undefined) this.earlyFailures.set(d, [failure]);
        else list.push(failure);
        continue;
      }
      const child = runningActor(this.filesystems[d]);
      if (child !== null) {
        send(child, { type: 'PARENT_FAILED', name: failure.name, cause: failure.cause });
      }
    }
  }

  /** Filesystem `index` ended: only its final snapshot is kept. */
  ended(index: number): void {
    const ref = this.filesystems[index];
    if (ref !== undefined && !(ref instanceof EndedFilesystem)) {
      this.filesystems[index] = new EndedFilesystem(ref.getSnapshot());
    }
  }

  /** Every filesystem still running hears CANCEL (D10). */
  cancel(reason: unknown, send: SendToFilesystem): void {
    for (const ref of this.filesystems) {
      const child = runningActor(ref);
      if (child !== null) send(child, { type: 'CANCEL', reason });
    }
  }
}
