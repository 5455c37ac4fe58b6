/**
 * The state the visualizer shows, folded from messages: the actors with their latest
 * snapshot, the machine graphs, and the latest report. Pure and DOM-free: the page folds live
 * frames and replays with it, the server keeps one to catch up late-joining pages, and the
 * tests check a replay against it.
 *
 * Actor records are replaced, never mutated, so `cloneModel` is a cheap shallow copy.
 * Non-machine actors (promise actors, the step queue) are forgotten once they stop. A daemon
 * job's new run replaces its last one: the old run's actors are forgotten when it arrives.
 */
import type {
  ActorMessage,
  DaemonJobJson,
  Frame,
  Json,
  MachineGraph,
  Message,
  ReportJson,
  SnapshotJson,
  SnapshotMessage,
} from './protocol.js';
import type { BlockedOn } from '../../src/report/schema.js';

/** One actor as the page knows it. */
export interface ActorState {
  sessionId: string;
  parentId: string | undefined;
  /** Actor id, e.g. `fs-3`, `attempt-0`, `run`. */
  name: string;
  /** Graph id of its machine, or null. */
  machine: string | null;
  snapshot: SnapshotJson;
  /** Type of the event that produced the snapshot. */
  lastEvent: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ModelState {
  actors: Map<string, ActorState>;
  graphs: Map<string, MachineGraph>;
  /** The lone run's report (`xrepl replicate`); a daemon's are in `jobReports`. */
  report: ReportJson | null;
  reportAt: string | null;
  /** By daemon job: its current (or last) run's report, and when it came. */
  jobReports: Map<string, { report: ReportJson; at: string }>;
  /** The daemon's jobs (null when this is not a daemon), and when they came. */
  daemon: DaemonJobJson[] | null;
  daemonAt: string | null;
  /** Seq and time of the last frame folded in. */
  seq: number;
  time: number;
}

/** A model with nothing in it. */
export function emptyModel(): ModelState {
  return {
    actors: new Map(),
    graphs: new Map(),
    report: null,
    reportAt: null,
    jobReports: new Map(),
    daemon: null,
    daemonAt: null,
    seq: -1,
    time: 0,
  };
}

/** A copy that the original's later updates do not change (records are shared, immutable). */
export function cloneModel(model: ModelState): ModelState {
  return {
    ...model,
    actors: new Map(model.actors),
    graphs: new Map(model.graphs),
    jobReports: new Map(model.jobReports),
  };
}

function keep(actor: ActorState): boolean {
  return actor.machine !== null || actor.snapshot.status === 'active';
}

/** Forgets the runs under `parentId` other than `except`, with every actor below them. */
function forgetOtherRuns(model: ModelState, parentId: string, except: string): void {
  const gone = new Set<string>();
  for (const a of model.actors.values()) {
    if (a.machine === 'run' && a.parentId === parentId && a.sessionId !== except) {
      gone.add(a.sessionId);
    }
  }
  if (gone.size === 0) return;
  // Actors arrive parents first, so one pass in insertion order finds every descendant.
  for (const a of model.actors.values()) {
    if (a.parentId !== undefined && gone.has(a.parentId)) gone.add(a.sessionId);
  }
  for (const id of gone) model.actors.delete(id);
}

/** Folds one message into the model (mutates `model`). */
export function applyMessage(model: ModelState, msg: Message): void {
  switch (msg.type) {
    case '@xstate.actor': {
      const prev = model.actors.get(msg.sessionId);
      const actor: ActorState = {
        sessionId: msg.sessionId,
        parentId: msg.parentId,
        name: msg.name,
        machine: msg.machine,
        snapshot: msg.snapshot,
        lastEvent: prev?.lastEvent ?? null,
        createdAt: prev?.createdAt ?? msg.createdAt,
        updatedAt: msg.createdAt,
      };
      if (keep(actor)) model.actors.set(msg.sessionId, actor);
      else model.actors.delete(msg.sessionId);
      // A daemon job's new run replaces its last one.
      if (prev === undefined && msg.machine === 'run' && msg.parentId !== undefined) {
        forgetOtherRuns(model, msg.parentId, msg.sessionId);
      }
      break;
    }
    case '@xstate.snapshot': {
      const prev = model.actors.get(msg.sessionId);
      if (prev === undefined) break;
      const actor = {
        ...prev,
        snapshot: msg.snapshot,
        lastEvent: msg.event.type,
        updatedAt: msg.createdAt,
      };
      if (keep(actor)) model.actors.set(msg.sessionId, actor);
      else model.actors.delete(msg.sessionId);
      break;
    }
    case '@xrepl.graph':
      model.graphs.set(msg.graph.id, msg.graph);
      break;
    case '@xrepl.report':
      if (msg.job === undefined) {
        model.report = msg.report;
        model.reportAt = msg.createdAt;
      } else {
        model.jobReports.set(msg.job, { report: msg.report, at: msg.createdAt });
      }
      break;
    case '@xrepl.daemon':
      model.daemon = msg.jobs;
      model.daemonAt = msg.createdAt;
      break;
    case '@xstate.event':
      break; // events go to the log, not the state
  }
}

/** Folds a frame into the model (mutates `model`). */
export function applyFrame(model: ModelState, frame: Frame): void {
  for (const msg of frame.messages) applyMessage(model, msg);
  model.seq = frame.seq;
  model.time = frame.time;
}

/**
 * A frame that brings an empty model to this one: the graphs, every actor (parents first)
 * with its current snapshot, and the report. Sent to a page that connects mid-run.
 */
export function modelToFrame(model: ModelState, seq: number, time: number): Frame {
  const messages: Message[] = [];
  for (const graph of model.graphs.values()) messages.push({ type: '@xrepl.graph', graph });
  for (const a of model.actors.values()) {
    const base = { sessionId: a.sessionId, rootId: undefined, id: null, _version: '0.7.2' };
    const actor: ActorMessage = {
      ...base,
      type: '@xstate.actor',
      createdAt: a.createdAt,
      name: a.name,
      parentId: a.parentId,
      machine: a.machine,
      snapshot: a.snapshot,
    };
    messages.push(actor);
    if (a.lastEvent !== null || a.updatedAt !== a.createdAt) {
      const snap: SnapshotMessage = {
        ...base,
        type: '@xstate.snapshot',
        createdAt: a.updatedAt,
        event: { type: a.lastEvent ?? 'xstate.init' },
        snapshot: a.snapshot,
      };
      messages.push(snap);
    }
  }
  if (model.report !== null) {
    messages.push({
      type: '@xrepl.report',
      createdAt: model.reportAt ?? String(time),
      report: model.report,
    });
  }
  for (const [job, { report, at }] of model.jobReports) {
    messages.push({ type: '@xrepl.report', createdAt: at, report, job });
  }
  if (model.daemon !== null) {
    messages.push({
      type: '@xrepl.daemon',
      createdAt: model.daemonAt ?? String(time),
      jobs: model.daemon,
    });
  }
  return { seq, time, droppedEvents: 0, messages };
}

/** An actor's context as a JSON object ({} if it has none). */
export function contextOf(actor: ActorState | undefined): { [key: string]: Json } {
  const c = actor?.snapshot.context;
  return typeof c === 'object' && c !== null && !Array.isArray(c) ? c : {};
}

/**
 * The name a person knows an actor by: the dataset for a filesystem, `attempt 2`, `run`, the
 * job's name for a daemon's job.
 */
export function actorLabel(actor: ActorState | undefined): string {
  if (actor === undefined) return '';
  const c = contextOf(actor);
  if ((actor.machine === 'filesystem' || actor.machine === 'job') && typeof c.name === 'string')
    return c.name;
  if (actor.machine === 'attempt' && typeof c.number === 'number') return `attempt ${c.number + 1}`;
  return actor.machine === 'run' ? 'run' : actor.name;
}

/** The daemon job an actor belongs to (the job itself, or the job whose run it is part of). */
export function jobOf(model: ModelState, actor: ActorState | undefined): ActorState | undefined {
  for (let a = actor; a !== undefined;) {
    if (a.machine === 'job') return a;
    a = a.parentId !== undefined ? model.actors.get(a.parentId) : undefined;
  }
  return undefined;
}

/** The name of the daemon job an actor belongs to, if any. */
export function jobNameOf(model: ModelState, actor: ActorState | undefined): string | null {
  const name = contextOf(jobOf(model, actor)).name;
  return typeof name === 'string' ? name : null;
}

/** The top-level state name of a state value: `'done'` or `{ stepping: 'running' }` -> `stepping`. */
export function topState(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    for (const key in value) return key;
  }
  return '';
}

/** Every active state path of a state value: `{ stepping: 'running' }` -> `['stepping', 'stepping.running']`. */
export function activePaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix + value];
  if (typeof value !== 'object' || value === null) return [];
  const out: string[] = [];
  for (const [key, sub] of Object.entries(value)) {
    out.push(prefix + key);
    out.push(...activePaths(sub, `${prefix}${key}.`));
  }
  return out;
}

/**
 * What a filesystem waits for: the tag of its state (the filesystem chart names its waiting
 * states' tags after the report's `blockedOn`), or `nothing` once it stopped or has none.
 */
export function blockedOnOf(snapshot: SnapshotJson): BlockedOn {
  if (snapshot.status !== 'active') return 'nothing';
  return (snapshot.tags?.[0] as BlockedOn | undefined) ?? 'nothing';
}
