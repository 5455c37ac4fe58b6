/**
 * A machine definition as a graph for the page to lay out and draw: every state node and
 * every transition (`on`, `always`, `after`, an invoke's onDone/onError), with event labels.
 * Pure: reads the machine's `.root` StateNode tree, never runs it.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { attemptMachine } from '../../machines/attempt.machine.js';
import { filesystemMachine } from '../../machines/filesystem.machine.js';
import { runMachine } from '../../machines/run.machine.js';
import type { GraphState, GraphTransition, MachineGraph, TransitionKind } from '../web/protocol.js';

/** What the conversion reads of a transition definition (XState's TransitionDefinition). */
interface TransitionLike {
  target?: ReadonlyArray<{ id: string }> | undefined;
  guard?: unknown;
  actions?: ReadonlyArray<unknown>;
  reenter?: boolean;
}

const AFTER = 'xstate.after.';
const DONE_ACTOR = 'xstate.done.actor.';
const ERROR_ACTOR = 'xstate.error.actor.';
const DONE_STATE = 'xstate.done.state.';

/** A name for a guard, action or actor source: its `type`, a string, or a function name. */
function nameOf(thing: unknown, fallback: string): string {
  if (typeof thing === 'string') return thing;
  if ((typeof thing === 'object' || typeof thing === 'function') && thing !== null) {
    const t = (thing as { type?: unknown }).type;
    if (typeof t === 'string') return t;
    const id = (thing as { id?: unknown }).id;
    if (typeof id === 'string') return id;
    if (typeof thing === 'function' && thing.name !== '') return thing.name;
  }
  return fallback;
}

/** Action names as written in the definition (XState adds raise/cancel for `after` itself). */
function actionNames(configured: unknown): string[] {
  if (configured === undefined || configured === null) return [];
  const list = Array.isArray(configured) ? configured : [configured];
  return list.map((a) => nameOf(a, 'action'));
}

function guardName(guard: unknown): string | null {
  return guard === undefined || guard === null ? null : nameOf(guard, 'guard');
}

/** Kind and label of an event type, using the node's invokes to name done/error events. */
function describeEvent(node: AnyStateNode, event: string): { kind: TransitionKind; label: string } {
  if (event === '*') return { kind: 'wildcard', label: '*' };
  if (event.startsWith(AFTER)) {
    // xstate.after.<delay>.<state id>
    const rest = event.slice(AFTER.length);
    const delay = rest.endsWith(`.${node.id}`) ? rest.slice(0, -node.id.length - 1) : rest;
    return { kind: 'after', label: `after ${/^\d+$/.test(delay) ? `${delay} ms` : delay}` };
  }
  for (const [prefix, kind] of [
    [DONE_ACTOR, 'done'],
    [ERROR_ACTOR, 'error'],
  ] as const) {
    if (event.startsWith(prefix)) {
      const invokeId = event.slice(prefix.length);
      const inv = node.invoke.find((i) => i.id === invokeId);
      const who = inv !== undefined ? nameOf(inv.src, invokeId) : invokeId;
      return { kind, label: `${kind}: ${who}` };
    }
  }
  if (event.startsWith(DONE_STATE)) return { kind: 'done', label: 'done' };
  return { kind: 'event', label: event };
}

function stateOf(node: AnyStateNode): GraphState {
  const initial = node.type === 'compound' ? (node.initial?.target?.[0]?.id ?? null) : null;
  return {
    id: node.id,
    key: node.key,
    path: [...node.path],
    parent: node.parent?.id ?? null,
    type: node.type,
    initial,
    entry: actionNames(node.config.entry),
    exit: actionNames(node.config.exit),
    invoke: node.invoke.map((i) => ({ id: i.id, src: nameOf(i.src, 'actor') })),
    tags: [...node.tags],
  };
}

function transitionOf(
  node: AnyStateNode,
  t: TransitionLike,
  event: string,
  n: number,
  always: boolean,
): GraphTransition {
  const { kind, label } = always
    ? { kind: 'always' as const, label: 'always' }
    : describeEvent(node, event);
  return {
    id: `${node.id}#${n}`,
    source: node.id,
    targets: (t.target ?? []).map((s) => s.id),
    event: always ? '' : event,
    kind,
    label,
    guard: guardName(t.guard),
    actions: (t.actions ?? []).map((a) => nameOf(a, 'action')),
    reenter: t.reenter === true,
  };
}

/**
 * Converts a machine into its graph: states in document order (root first), then
 * transitions per state in the order XState tries them.
 *
 * @example
 * const graph = machineGraph(filesystemMachine);
 * graph.states.map((s) => s.id); // ['filesystem', 'filesystem.planning', ...]
 */
export function machineGraph(machine: Pick<AnyStateMachine, 'id' | 'root'>): MachineGraph {
  const states: GraphState[] = [];
  const transitions: GraphTransition[] = [];
  const visit = (node: AnyStateNode): void => {
    states.push(stateOf(node));
    let n = 0;
    // `transitions` holds `on`, `after` (as xstate.after.* events) and invoke onDone/onError.
    for (const [event, defs] of node.transitions) {
      for (const t of defs) transitions.push(transitionOf(node, t, event, n++, false));
    }
    for (const t of node.always ?? []) transitions.push(transitionOf(node, t, '', n++, true));
    for (const child of Object.values(node.states) as AnyStateNode[]) visit(child);
  };
  visit(machine.root);
  return { id: machine.id, states, transitions };
}

/** The graphs of the driver's three statecharts: run, attempt, filesystem. */
export function driverGraphs(): MachineGraph[] {
  return [runMachine, attemptMachine, filesystemMachine].map((m) => machineGraph(m));
}
