/**
 * A reference model of one attempt at stepQueueConcurrency 1, where the order of admissions
 * follows from the plans and the outcomes alone (D4, D6, D7, D8). It is written from the
 * spec, independently of the machines:
 *
 * - every filesystem asks for a planning slot in plan order; plannings go before steps;
 * - steps by target date, an invalid date after every valid one, ties in request order;
 * - a filesystem that releases its slot and needs another asks in the same round (before the
 *   freed slot is handed out); filesystems it wakes ask after that;
 * - a filesystem waits for all its ancestors to be present on the receiver before its first
 *   step; an ancestor that fails before it is present fails its descendants.
 *
 * Parents tell their descendants through the attempt, which handles one message at a time:
 * messages sent while it is busy wait their turn (a mailbox), in the order they were sent.
 */
import type { TargetDate } from './world.js';

export interface ModelStep {
  from: string;
  to: string;
  date: TargetDate;
  fails: boolean;
}

export interface ModelFilesystem {
  name: string;
  /** Null: the planning fails. */
  steps: ModelStep[] | null;
}

type Phase = 'waiting' | 'running' | 'parents' | 'ended';

interface FsState {
  phase: Phase;
  steps: ModelStep[] | null;
  current: number;
  parentsPending: number;
  parentsFailed: boolean;
}

interface Ticket {
  fs: number;
  planning: boolean;
  date: number;
  seq: number;
}

/** Labels of admissions in order: `planFS:<fs>` and `<fs>@<to>`. */
export function admissionOrder(filesystems: ModelFilesystem[]): string[] {
  const names = filesystems.map((f) => f.name);
  const index = new Map(names.map((n, i) => [n, i]));
  const ancestors = names.map((n) => {
    const found: number[] = [];
    const parts = n.split('/');
    for (let k = 1; k < parts.length; k++) {
      const i = index.get(parts.slice(0, k).join('/'));
      if (i !== undefined) found.push(i);
    }
    return found;
  });
  const descendants = names.map((_, p) =>
    names.map((_, c) => c).filter((c) => ancestors[c]!.includes(p)),
  );
  const fss: FsState[] = filesystems.map((_, i) => ({
    phase: 'waiting',
    steps: null,
    current: 0,
    parentsPending: ancestors[i]!.length,
    parentsFailed: false,
  }));

  const order: string[] = [];
  const waiting: Ticket[] = [];
  let holder: number | null = null;
  let seq = 0;

  const ticket = (fs: number, date: TargetDate | null): Ticket => ({
    fs,
    planning: date === null,
    date: date === null ? -Infinity : typeof date === 'number' ? date : Infinity,
    seq: seq++,
  });
  const grant = (): void => {
    if (holder !== null || waiting.length === 0) return;
    let best = 0;
    for (let i = 1; i < waiting.length; i++) if (before(waiting[i]!, waiting[best]!)) best = i;
    const t = waiting.splice(best, 1)[0]!;
    holder = t.fs;
    const f = fss[t.fs]!;
    f.phase = 'running';
    order.push(t.planning ? `planFS:${names[t.fs]}` : `${names[t.fs]}@${f.steps![f.current]!.to}`);
  };
  const request = (fs: number, date: TargetDate | null): void => {
    fss[fs]!.phase = 'waiting';
    waiting.push(ticket(fs, date));
    grant();
  };
  /** Frees the slot; `next` asks again in the same round. */
  const release = (fs: number, next?: TargetDate): void => {
    holder = null;
    if (next !== undefined) waiting.push(ticket(fs, next));
    grant();
  };

  // The attempt's mailbox: relays from a parent to its descendants, one message at a time.
  const mailbox: { from: number; present: boolean }[] = [];
  let busy = false;
  const post = (from: number, present: boolean): void => {
    mailbox.push({ from, present });
    if (busy) return;
    busy = true;
    while (mailbox.length > 0) {
      const m = mailbox.shift()!;
      for (const d of descendants[m.from]!) {
        const f = fss[d]!;
        if (f.phase === 'ended') continue;
        if (m.present) f.parentsPending--;
        else f.parentsFailed = true;
        if (f.phase === 'parents') parentsChanged(d);
      }
    }
    busy = false;
  };

  const incremental = (f: FsState): boolean =>
    f.steps !== null && f.steps.length > 0 && f.steps[0]!.from !== '';
  const present = (f: FsState): boolean =>
    f.steps !== null && (f.steps.length === 0 || f.current >= 1 || incremental(f));
  /** Present now, and not before the work that just ended. */
  const becamePresent = (f: FsState): boolean =>
    f.current === 0 ? f.steps!.length === 0 || incremental(f) : f.current === 1 && !incremental(f);
  /** Stops; a filesystem that is not present tells its descendants it failed. */
  const end = (fs: number): void => {
    const f = fss[fs]!;
    f.phase = 'ended';
    if (!present(f)) post(fs, false);
  };
  const nextDate = (f: FsState): TargetDate | 'done' => {
    const step = f.steps![f.current];
    return step === undefined ? 'done' : step.date;
  };

  /** After a planning or a step, holding the slot; the same decisions, in the same order, as the spec's. */
  const afterWork = (fs: number): void => {
    const f = fss[fs]!;
    const announce = (): void => {
      if (becamePresent(f)) post(fs, true);
    };
    const next = nextDate(f);
    if (f.parentsFailed || (f.parentsPending === 0 && (next === 'done' || next === 'throws'))) {
      release(fs);
      announce();
      end(fs);
    } else if (f.parentsPending > 0) {
      release(fs);
      f.phase = 'parents';
      announce();
    } else {
      release(fs, next as TargetDate);
      if (holder !== fs) f.phase = 'waiting';
      announce();
    }
  };

  /** A parent became present or failed while this filesystem waited for its parents. */
  const parentsChanged = (fs: number): void => {
    const f = fss[fs]!;
    const next = nextDate(f);
    if (f.parentsFailed || next === 'throws') end(fs);
    else if (f.parentsPending > 0) return;
    else if (next === 'done') f.phase = 'ended';
    else request(fs, next as TargetDate);
  };

  /** The slot holder's call settles. */
  const complete = (fs: number): void => {
    const f = fss[fs]!;
    if (f.steps === null) {
      const planned = filesystems[fs]!.steps;
      if (planned === null) {
        release(fs);
        end(fs);
        return;
      }
      f.steps = planned;
    } else {
      if (f.steps[f.current]!.fails) {
        release(fs);
        end(fs);
        return;
      }
      f.current++;
    }
    afterWork(fs);
  };

  for (let i = 0; i < filesystems.length; i++) request(i, null);
  while (holder !== null) complete(holder);
  return order;
}

function before(a: Ticket, b: Ticket): boolean {
  if (a.planning !== b.planning) return a.planning;
  if (a.date !== b.date) return a.date < b.date;
  return a.seq < b.seq;
}
