/**
 * XState inspection events as JSON messages in the `@statelyai/inspect` shape (see
 * `../web/protocol.ts`). Only the serialisable parts of a context survive: functions and
 * AbortSignals are dropped, actor refs become `{ id, sessionId }`, Dates ISO strings, Errors
 * `{ name, message }`, other class instances a `"[ClassName]"` marker (a Step or FS object
 * can reach a whole planner), long arrays and strings are cut, depth is bounded.
 */
import type { InspectionEvent } from 'xstate';
import type {
  ActorMessage,
  EventJson,
  EventMessage,
  InspectMessage,
  Json,
  SnapshotJson,
  SnapshotMessage,
} from '../web/protocol.js';

/** The `@statelyai/inspect` protocol version these messages follow. */
export const STATELY_PROTOCOL_VERSION = '0.7.2';

export interface SerializeLimits {
  /** Nesting depth below which values become `"[…]"`. */
  maxDepth: number;
  /** Arrays longer than this keep their first `maxArray` items and a `"… N more"` marker. */
  maxArray: number;
  /** Strings longer than this are cut. */
  maxString: number;
}

export const DEFAULT_LIMITS: SerializeLimits = { maxDepth: 8, maxArray: 100, maxString: 2000 };

/** What the conversion reads of an actor ref (XState's ActorRef, duck-typed). */
interface ActorRefLike {
  id: string;
  sessionId: string;
  send: unknown;
  getSnapshot(): unknown;
  _parent?: { sessionId: string };
  logic?: unknown;
}

/** True for XState actor refs (anything with a string `sessionId` and a `send` method). */
export function isActorRef(value: unknown): value is ActorRefLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { sessionId?: unknown }).sessionId === 'string' &&
    typeof (value as { send?: unknown }).send === 'function'
  );
}

function isAbortSignal(value: object): boolean {
  return typeof AbortSignal !== 'undefined' && value instanceof AbortSignal;
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const DROP = Symbol('drop');

function convert(
  value: unknown,
  depth: number,
  limits: SerializeLimits,
  seen: Set<object>,
): Json | typeof DROP {
  switch (typeof value) {
    case 'string':
      return value.length > limits.maxString ? `${value.slice(0, limits.maxString)}…` : value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return DROP;
  }
  if (value === null) return null;
  const obj = value as object;
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (isActorRef(obj)) return { id: obj.id, sessionId: obj.sessionId };
  if (isAbortSignal(obj)) return DROP;
  if (obj instanceof Error) {
    const code = (obj as { code?: unknown }).code;
    const out: { [k: string]: Json } = { name: obj.name, message: obj.message };
    if (typeof code === 'string' || typeof code === 'number') out.code = code;
    return out;
  }
  if (depth >= limits.maxDepth) return '[…]';
  if (seen.has(obj)) return '[circular]';
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      const n = Math.min(obj.length, limits.maxArray);
      const out: Json[] = [];
      for (let i = 0; i < n; i++) {
        const v = convert(obj[i], depth + 1, limits, seen);
        out.push(v === DROP ? null : v);
      }
      if (obj.length > n) out.push(`… ${obj.length - n} more`);
      return out;
    }
    if (obj instanceof Map) {
      return { '[Map]': obj.size };
    }
    if (!isPlain(obj)) return `[${obj.constructor?.name ?? 'object'}]`;
    const out: { [k: string]: Json } = {};
    for (const key of Object.keys(obj)) {
      const v = convert((obj as Record<string, unknown>)[key], depth + 1, limits, seen);
      if (v !== DROP) out[key] = v;
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}

/**
 * Any value as JSON, keeping only its serialisable parts (`undefined` for a value that is
 * dropped entirely, e.g. a function).
 *
 * @example
 * toJson({ at: new Date(0), signal: new AbortController().signal, n: 1 });
 * // { at: '1970-01-01T00:00:00.000Z', n: 1 }
 */
export function toJson(value: unknown, limits: SerializeLimits = DEFAULT_LIMITS): Json | undefined {
  const v = convert(value, 0, limits, new Set());
  return v === DROP ? undefined : v;
}

/** The status, value, tags, context, output and error of a snapshot; nothing internal. */
export function serializeSnapshot(
  snapshot: unknown,
  limits: SerializeLimits = DEFAULT_LIMITS,
): SnapshotJson {
  const s = (snapshot ?? {}) as Record<string, unknown>;
  const out: SnapshotJson = { status: typeof s.status === 'string' ? s.status : 'active' };
  if (s.value !== undefined) {
    const v = toJson(s.value, limits);
    if (v !== undefined) out.value = v;
  }
  // As the snapshot's toJSON() has them: the filesystem's tag is its blockedOn.
  if (s.tags instanceof Set && s.tags.size > 0) out.tags = [...s.tags].map(String);
  for (const key of ['context', 'output', 'error'] as const) {
    if (s[key] === undefined) continue;
    const v = toJson(s[key], limits);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** An event object as JSON; always keeps `type`. */
export function serializeEvent(
  event: unknown,
  limits: SerializeLimits = DEFAULT_LIMITS,
): EventJson {
  const json = toJson(event, limits);
  const type = (event as { type?: unknown } | null)?.type;
  const base = typeof json === 'object' && json !== null && !Array.isArray(json) ? json : {};
  return { ...base, type: typeof type === 'string' ? type : 'unknown' };
}

/** The machine id of an actor whose logic is a state machine, else null. */
export function machineIdOf(actorRef: unknown): string | null {
  const logic = (actorRef as { logic?: { id?: unknown; root?: unknown } } | null)?.logic;
  if (logic === undefined || logic === null) return null;
  return typeof logic.id === 'string' && typeof logic.root === 'object' && logic.root !== null
    ? logic.id
    : null;
}

/** The state machine of an actor, if its logic is one. */
export function machineOf(actorRef: unknown): { id: string; root: unknown } | null {
  return machineIdOf(actorRef) === null
    ? null
    : (actorRef as { logic: { id: string; root: unknown } }).logic;
}

/**
 * One XState inspection event as a message, or null for the kinds the page does not need
 * (`@xstate.microstep`, `@xstate.action`, `@xstate.transition`). `createdAt` is the time the
 * event was observed (epoch ms). For `@xstate.actor`, the snapshot is the actor's current one
 * at conversion time: conversion may happen later than observation (coalescing).
 *
 * @example
 * createActor(machine, { inspect: (ev) => send(convertInspectionEvent(ev, Date.now())) });
 */
export function convertInspectionEvent(
  ev: InspectionEvent,
  createdAt: number,
  limits: SerializeLimits = DEFAULT_LIMITS,
): InspectMessage | null {
  const actor = ev.actorRef as unknown as ActorRefLike;
  const base = {
    sessionId: actor.sessionId,
    rootId: ev.rootId,
    createdAt: String(createdAt),
    id: null,
    _version: STATELY_PROTOCOL_VERSION,
  };
  switch (ev.type) {
    case '@xstate.actor': {
      const machine = machineIdOf(actor);
      const msg: ActorMessage = {
        ...base,
        type: '@xstate.actor',
        name: actor.id === actor.sessionId && machine !== null ? machine : actor.id,
        parentId: actor._parent?.sessionId,
        machine,
        snapshot: serializeSnapshot(actor.getSnapshot(), limits),
      };
      return msg;
    }
    case '@xstate.event': {
      const msg: EventMessage = {
        ...base,
        type: '@xstate.event',
        event: serializeEvent(ev.event, limits),
        sourceId: (ev.sourceRef as ActorRefLike | undefined)?.sessionId,
      };
      return msg;
    }
    case '@xstate.snapshot': {
      const msg: SnapshotMessage = {
        ...base,
        type: '@xstate.snapshot',
        event: serializeEvent(ev.event, limits),
        snapshot: serializeSnapshot(ev.snapshot, limits),
      };
      return msg;
    }
    default:
      return null;
  }
}
