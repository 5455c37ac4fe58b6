/**
 * A machine graph as an ELK graph (compound nodes for nested states), and ELK's answer as
 * geometry to draw. DOM-free: text widths come from a `measure` function.
 *
 * A state box shows its name, then rows for entry actions, invoked actors and its targetless
 * transitions (`CANCEL / recordCancel`); transitions with targets become edges labelled with
 * the event and guard. Each compound state gets a small initial-state dot with an edge to
 * its initial child.
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { GraphState, GraphTransition, MachineGraph } from './protocol.js';

/** Text width in px for a font role. */
export type Measure = (text: string, role: 'title' | 'row' | 'label') => number;

export const TITLE_H = 26;
export const ROW_H = 17;
const PAD_X = 12;
const PAD_BOTTOM = 8;
/** Height of one line of an edge label. */
export const LABEL_LINE_H = 14;
const INIT = 10;

/** A row inside a state box. */
export interface StateRow {
  kind: 'entry' | 'exit' | 'invoke' | 'self' | 'tag';
  text: string;
  /** For `self` rows: the transition. */
  transition?: GraphTransition;
}

export interface StateBox {
  state: GraphState;
  x: number;
  y: number;
  w: number;
  h: number;
  rows: StateRow[];
  compound: boolean;
}

export interface EdgePath {
  /** ELK edge id: `${transition.id}>${targetIndex}`, or `${state}#init`. */
  id: string;
  transition: GraphTransition | null;
  source: string;
  target: string;
  points: { x: number; y: number }[];
  label: { x: number; y: number; w: number; h: number; text: string } | null;
}

export interface ChartGeometry {
  width: number;
  height: number;
  boxes: Map<string, StateBox>;
  edges: EdgePath[];
  /** Initial-state dots: centre points. */
  initials: { id: string; x: number; y: number }[];
}

/** `GRANTED`, `always [parentsPending]`, `done: plan`. */
export function transitionText(t: GraphTransition): string {
  return t.guard !== null ? `${t.label} [${t.guard}]` : t.label;
}

/**
 * An edge label's lines: the event, then the guard. An eventless transition shows only its
 * guard (the dashed line says `always`).
 */
export function labelLines(t: GraphTransition): string[] {
  const guard = t.guard !== null ? `[${t.guard}]` : null;
  if (t.kind === 'always') return [guard ?? 'always'];
  return guard !== null ? [t.label, guard] : [t.label];
}

/** The rows a state box shows. */
export function rowsOf(state: GraphState, transitions: GraphTransition[]): StateRow[] {
  const rows: StateRow[] = [];
  if (state.entry.length > 0)
    rows.push({ kind: 'entry', text: `entry / ${state.entry.join(', ')}` });
  for (const inv of state.invoke) rows.push({ kind: 'invoke', text: `invoke ${inv.src}` });
  // A waiting state's tag is the report's blockedOn there (e.g. retry-backoff in retry-wait).
  for (const tag of state.tags ?? []) rows.push({ kind: 'tag', text: `waits: ${tag}` });
  if (state.exit.length > 0) rows.push({ kind: 'exit', text: `exit / ${state.exit.join(', ')}` });
  for (const t of transitions) {
    if (t.source === state.id && t.targets.length === 0) {
      const actions = t.actions.length > 0 ? ` / ${t.actions.join(', ')}` : '';
      rows.push({ kind: 'self', text: `${transitionText(t)}${actions}`, transition: t });
    }
  }
  return rows;
}

const ROOT_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.json.edgeCoords': 'ROOT',
  'elk.json.shapeCoords': 'ROOT',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.layered.spacing.nodeNodeBetweenLayers': '36',
  'elk.spacing.nodeNode': '22',
  'elk.spacing.edgeNode': '16',
  'elk.spacing.edgeEdge': '12',
  'elk.spacing.edgeLabel': '4',
  'elk.layered.spacing.edgeNodeBetweenLayers': '16',
  'elk.edgeLabels.inline': 'false',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
};

/** The ELK input graph for a machine. */
export function toElkGraph(graph: MachineGraph, measure: Measure): ElkNode {
  const byParent = new Map<string | null, GraphState[]>();
  for (const s of graph.states) {
    const list = byParent.get(s.parent) ?? [];
    list.push(s);
    byParent.set(s.parent, list);
  }
  const node = (state: GraphState): ElkNode => {
    const rows = rowsOf(state, graph.transitions);
    const children = byParent.get(state.id) ?? [];
    const width = Math.max(
      measure(state.key, 'title') + 2 * PAD_X + (state.type === 'final' ? 8 : 0),
      ...rows.map((r) => measure(r.text, 'row') + 2 * PAD_X),
      72,
    );
    const header = TITLE_H + rows.length * ROW_H + (rows.length > 0 ? 4 : 0);
    if (children.length === 0) {
      return { id: state.id, width: Math.ceil(width), height: header + PAD_BOTTOM };
    }
    const kids: ElkNode[] = children.map(node);
    if (state.initial !== null) kids.unshift({ id: `${state.id}#init`, width: INIT, height: INIT });
    return {
      id: state.id,
      layoutOptions: {
        'elk.padding': `[top=${header + 12},left=18,bottom=18,right=18]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${Math.ceil(width)},${header + 20})`,
      },
      children: kids,
    };
  };
  const root = graph.states.find((s) => s.parent === null);
  if (root === undefined) return { id: 'empty', children: [] };

  const edges: ElkExtendedEdge[] = [];
  for (const t of graph.transitions) {
    const lines = labelLines(t);
    const width = Math.ceil(Math.max(...lines.map((l) => measure(l, 'label')))) + 10;
    t.targets.forEach((target, k) => {
      edges.push({
        id: `${t.id}>${k}`,
        sources: [t.source],
        targets: [target],
        labels: [
          {
            id: `${t.id}>${k}:label`,
            text: lines.join('\n'),
            width,
            height: lines.length * LABEL_LINE_H + 4,
            // Next to the source state: "in this state, on this event"; also the most compact.
            layoutOptions: { 'elk.edgeLabels.placement': 'TAIL' },
          },
        ],
      });
    });
  }
  for (const s of graph.states) {
    if (s.initial !== null)
      edges.push({ id: `${s.id}#init`, sources: [`${s.id}#init`], targets: [s.initial] });
  }
  return { id: '__graph', layoutOptions: { ...ROOT_OPTIONS }, children: [node(root)], edges };
}

/** Reads ELK's layout (absolute coordinates: see ROOT_OPTIONS) into geometry to draw. */
export function geometryFrom(layout: ElkNode, graph: MachineGraph): ChartGeometry {
  const states = new Map(graph.states.map((s) => [s.id, s]));
  const transitions = new Map(graph.transitions.map((t) => [t.id, t]));
  const boxes = new Map<string, StateBox>();
  const initials: ChartGeometry['initials'] = [];
  const walk = (n: ElkNode): void => {
    const state = states.get(n.id);
    if (state !== undefined) {
      boxes.set(n.id, {
        state,
        x: n.x ?? 0,
        y: n.y ?? 0,
        w: n.width ?? 0,
        h: n.height ?? 0,
        rows: rowsOf(state, graph.transitions),
        compound: (n.children ?? []).length > 0,
      });
    } else if (n.id.endsWith('#init')) {
      initials.push({ id: n.id, x: (n.x ?? 0) + INIT / 2, y: (n.y ?? 0) + INIT / 2 });
    }
    for (const c of n.children ?? []) walk(c);
  };
  walk(layout);
  const edges: EdgePath[] = [];
  const collect = (n: ElkNode): void => {
    for (const e of (n.edges ?? []) as ElkExtendedEdge[]) {
      const section = e.sections?.[0];
      if (section === undefined) continue;
      const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
      const tid = e.id.includes('>') ? e.id.slice(0, e.id.lastIndexOf('>')) : null;
      const l = e.labels?.[0];
      edges.push({
        id: e.id,
        transition: tid !== null ? (transitions.get(tid) ?? null) : null,
        source: e.sources[0] ?? '',
        target: e.targets[0] ?? '',
        points: points.map((p) => ({ x: p.x, y: p.y })),
        label:
          l !== undefined
            ? { x: l.x ?? 0, y: l.y ?? 0, w: l.width ?? 0, h: l.height ?? 0, text: l.text ?? '' }
            : null,
      });
    }
    for (const c of n.children ?? []) collect(c);
  };
  collect(layout);
  return { width: layout.width ?? 0, height: layout.height ?? 0, boxes, edges, initials };
}
