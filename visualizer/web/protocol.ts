/**
 * What the visualizer server sends to the page, and what a recording (JSON Lines) holds.
 * Shared by the server (Node) and the page (browser): types only, no DOM, no Node.
 *
 * Inspection messages follow the `@statelyai/inspect` protocol (`StatelyInspectionEvent`:
 * `type`, `sessionId`, `rootId`, `createdAt` as a string of epoch ms, `id`, `_version`), with
 * two differences: `definition` is left out (a machine's chart is sent once as an
 * `@xrepl.graph` message instead of a config string per actor) and actor messages name their
 * machine in `machine`. The `@xrepl.*` messages are ours.
 */

import type {
  AttemptReport,
  FilesystemReport,
  Report,
  ReportTimedError,
} from '../../src/report/schema.js';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The JSON-serialisable part of an actor snapshot. */
export interface SnapshotJson {
  status: 'active' | 'done' | 'error' | 'stopped' | string;
  /** State value of a machine actor: `'done'` or `{ stepping: 'running' }`. */
  value?: Json;
  /** Tags of the active states; a filesystem's tag is its report's `blockedOn`. */
  tags?: string[];
  context?: Json;
  output?: Json;
  error?: Json;
}

/** An event as sent to an actor: `type` plus its serialisable payload. */
export type EventJson = { type: string } & { [key: string]: Json };

interface StatelyBase {
  sessionId: string;
  rootId: string | undefined;
  /** Epoch milliseconds as a string, as `@statelyai/inspect` does. */
  createdAt: string;
  id: string | null;
  _version: string;
}

/** An actor was created (`@xstate.actor`). */
export interface ActorMessage extends StatelyBase {
  type: '@xstate.actor';
  /** The actor's id (`fs-3`, `attempt-0`), or its machine id when the id is the session id. */
  name: string;
  parentId: string | undefined;
  /** Id of the `@xrepl.graph` of the actor's machine; null for non-machine actors. */
  machine: string | null;
  snapshot: SnapshotJson;
}

/** An event was sent to the actor `sessionId` (`@xstate.event`). */
export interface EventMessage extends StatelyBase {
  type: '@xstate.event';
  event: EventJson;
  sourceId: string | undefined;
}

/** The actor `sessionId` has a new snapshot (`@xstate.snapshot`). */
export interface SnapshotMessage extends StatelyBase {
  type: '@xstate.snapshot';
  event: EventJson;
  snapshot: SnapshotJson;
}

export type InspectMessage = ActorMessage | EventMessage | SnapshotMessage;

/** The statechart of one machine, sent before the first actor of that machine. */
export interface GraphMessage {
  type: '@xrepl.graph';
  graph: MachineGraph;
}

/** The replication report (`Report` as JSON: dates are ISO strings). */
export interface ReportMessage {
  type: '@xrepl.report';
  createdAt: string;
  report: ReportJson;
  /** The daemon job whose current (or last) run this is; absent for a lone run. */
  job?: string;
}

/** The daemon's jobs as `xrepl status` knows them, summarised (`@xrepl.daemon`). */
export interface DaemonMessage {
  type: '@xrepl.daemon';
  createdAt: string;
  jobs: DaemonJobJson[];
}

export type Message = InspectMessage | GraphMessage | ReportMessage | DaemonMessage;

/** What the daemon panel shows of one job: its state, next tick and last results. */
export interface DaemonJobJson {
  name: string;
  /** The job's type: push, pull, snap, sink, source. */
  type: string;
  /** The job chart's state, e.g. `idle`, `replicating`, `replicating-error`. */
  state: string;
  cycles: number;
  /** When the schedule ticks next (ISO); null without a schedule (manual, sink). */
  nextTick: string | null;
  lastError: { during: string; err: string; time: string } | null;
  lastSnapshot: { name: string; datasets: number; time: string } | null;
  /** The current run, else the last one, in numbers (the report itself comes with `@xrepl.report`). */
  run: RunSummaryJson | null;
  lastPrune: { sender: PruneSummaryJson | null; receiver: PruneSummaryJson | null };
  /** A sink's or source's server: where it listens, or why it does not. */
  serving: { url: string | null; error: string | null } | null;
}

export interface RunSummaryJson {
  state: string;
  startAt: string;
  finishAt: string | null;
  attempts: number;
  /** Filesystems of the last attempt: all of them, done, failed. */
  filesystems: number;
  done: number;
  failed: number;
  bytes: number;
}

export interface PruneSummaryJson {
  datasets: number;
  destroyed: number;
}

/**
 * One batch of messages, sent at most ~10 times a second. Within a frame an actor has at
 * most one snapshot message (the latest); `droppedEvents` counts `@xstate.event` messages
 * left out to bound the frame's size.
 */
export interface Frame {
  seq: number;
  /** Epoch milliseconds when the frame was flushed. */
  time: number;
  droppedEvents: number;
  messages: Message[];
}

/** The line that opens a frame in a recording; the frame's messages follow, one a line. */
export interface FrameHeader {
  type: '@xrepl.frame';
  seq: number;
  time: number;
  droppedEvents: number;
}

/** Server -> page over the WebSocket. */
export type ServerMessage =
  { type: 'hello'; mode: 'live'; version: string } | { type: 'frames'; frames: Frame[] };

/** `GET /api/session`: how the page gets its data. */
export interface SessionInfo {
  mode: 'live' | 'replay';
  /** WebSocket path (live). */
  ws?: string;
  /** URL of the recording to fetch (replay). */
  replay?: string;
  /** File name of the recording, for the title. */
  source?: string;
}

// ---- statechart graph -----------------------------------------------------------------

export type GraphStateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

/** One state node of a machine. */
export interface GraphState {
  /** XState's node id: `filesystem.stepping.running`; the machine id for the root. */
  id: string;
  key: string;
  /** Path from the root: `['stepping', 'running']`; `[]` for the root. */
  path: string[];
  parent: string | null;
  type: GraphStateType;
  /** Id of the initial child state, if compound. */
  initial: string | null;
  entry: string[];
  exit: string[];
  invoke: { id: string; src: string }[];
  /** The state's tags: what a filesystem waits for there (its blockedOn, D11). */
  tags: string[];
}

export type TransitionKind = 'event' | 'always' | 'after' | 'done' | 'error' | 'wildcard';

/** One transition (one candidate of `on`, `always`, `after` or an invoke's onDone/onError). */
export interface GraphTransition {
  /** `${source}#${n}`, unique within the machine. */
  id: string;
  source: string;
  /** Target state ids; empty for a targetless transition (actions only). */
  targets: string[];
  /** The event type as XState sees it (`''` for `always`). */
  event: string;
  kind: TransitionKind;
  /** Human label: `GRANTED`, `done: plan`, `error: waitForConnectivity`, `after reconnectChunk`, `always`. */
  label: string;
  guard: string | null;
  actions: string[];
  reenter: boolean;
}

/** A machine as a graph of states and transitions, JSON-serialisable. */
export interface MachineGraph {
  id: string;
  states: GraphState[];
  transitions: GraphTransition[];
}

// ---- the report as JSON ---------------------------------------------------------------

/** A value as `JSON.stringify` writes it: Dates become ISO strings. */
type AsJson<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? AsJson<U>[]
    : T extends object
      ? { [K in keyof T]: AsJson<T[K]> }
      : T;

/** The report (`Report` of src/report/schema.ts) as JSON: dates are ISO strings. */
export type ReportJson = AsJson<Report>;
export type TimedErrorJson = AsJson<ReportTimedError>;
export type AttemptReportJson = AsJson<AttemptReport>;
export type FilesystemReportJson = AsJson<FilesystemReport>;
export type StepInfoJson = FilesystemReportJson['steps'][number]['info'];
