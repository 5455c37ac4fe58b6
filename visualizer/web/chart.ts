/**
 * The statechart view: lays a machine graph out with elkjs (loaded by a script tag from
 * `/vendor/elk.bundled.js`, global `ELK`), draws it as SVG once per machine, and then only
 * toggles classes to highlight the selected actor's active states, the transitions it can
 * take, and the path it just took. A chart too big to read whole follows the active state.
 */
import type { ElkNode } from 'elkjs/lib/elk-api.js';
import { geometryFrom, toElkGraph, type ChartGeometry, type StateBox } from './chart-layout.js';
import { canvasMeasure, chartSvg } from './chart-svg.js';
import { esc } from './format.js';
import { activePaths } from './model.js';
import { PanZoom } from './pan-zoom.js';
import type { MachineGraph } from './protocol.js';

declare const ELK: new () => { layout(graph: ElkNode): Promise<ElkNode> };

/** Zoom at which the chart reads well; below it, `follow` zooms in on the active state. */
const FOLLOW_ZOOM = 0.8;

interface Drawn {
  graphId: string;
  geo: ChartGeometry;
  states: Map<string, SVGGElement>;
  /** state id -> path */
  paths: Map<string, string>;
  /** path -> box */
  pathBoxes: Map<string, StateBox>;
  edges: { el: SVGGElement; source: string; target: string; event: string; kind: string }[];
}

/**
 * @example
 * const chart = new ChartView(document.getElementById('chart')!);
 * chart.show(graph, { stepping: 'running' }, 'GRANTED', actor.sessionId);
 */
export class ChartView {
  /** Keep the active state in view, zoomed in enough to read, when the chart is too big to fit. */
  follow = true;
  private readonly layouts = new Map<string, Promise<ChartGeometry>>();
  private readonly measure = canvasMeasure();
  private readonly panZoom: PanZoom;
  private drawn: Drawn | null = null;
  private wanted: { graph: MachineGraph | null; value: unknown; event: string | null } = {
    graph: null,
    value: null,
    event: null,
  };
  private prevActive = new Set<string>();
  private actor: string | null = null;

  constructor(private readonly container: HTMLElement) {
    this.panZoom = new PanZoom(container);
  }

  /** Lays out (once per machine) and pre-warms a graph. */
  prepare(graph: MachineGraph): Promise<ChartGeometry> {
    let p = this.layouts.get(graph.id);
    if (p === undefined) {
      p = new ELK().layout(toElkGraph(graph, this.measure)).then((out) => geometryFrom(out, graph));
      this.layouts.set(graph.id, p);
    }
    return p;
  }

  /**
   * Shows `graph` with the states of `value` active; `event` is what led there; `actor`
   * names whose states these are (another actor of the same machine re-focuses the view).
   */
  show(
    graph: MachineGraph | null,
    value: unknown,
    event: string | null,
    actor: string | null = null,
  ): void {
    if (actor !== this.actor) {
      this.actor = actor;
      this.prevActive = new Set();
    }
    this.wanted = { graph, value, event };
    if (graph === null) {
      this.clear('Select an actor to see its statechart.');
      return;
    }
    if (this.drawn?.graphId === graph.id) {
      this.highlight();
      return;
    }
    this.prepare(graph).then(
      (geo) => {
        if (this.wanted.graph?.id !== graph.id) return;
        const fresh = this.drawn?.graphId !== graph.id;
        if (fresh) this.draw(graph.id, geo);
        this.highlight();
        if (fresh) this.keepInView(true);
      },
      (err: unknown) => this.clear(`Layout failed: ${String(err)}`),
    );
  }

  /** Scales and centres the whole chart into the view. */
  fit(): void {
    this.panZoom.fit();
  }

  /**
   * A chart that fits at a readable zoom is shown whole. A bigger one is shown at a readable
   * zoom centred on the innermost active state when first drawn, and then, with `follow`,
   * panned whenever that state leaves the view (a new actor, a new state).
   */
  private keepInView(fresh: boolean): void {
    const d = this.drawn;
    if (d === null) return;
    const fit = this.panZoom.fitView();
    if (fit.k >= FOLLOW_ZOOM) {
      if (fresh) this.panZoom.moveTo(fit, false);
      return;
    }
    if (!this.follow && !fresh) return;
    const leaf = [...this.prevActive]
      .filter((p) => p !== '')
      .sort((a, b) => b.split('.').length - a.split('.').length)[0];
    const box = leaf !== undefined ? d.pathBoxes.get(leaf) : undefined;
    if (box === undefined) {
      if (fresh) this.panZoom.moveTo(fit, false);
    } else if (fresh) {
      this.panZoom.centreOn(box, FOLLOW_ZOOM, false);
    } else if (!this.panZoom.shows(box)) {
      this.panZoom.centreOn(box, this.panZoom.view.k, true);
    }
  }

  private clear(message: string): void {
    this.drawn = null;
    this.panZoom.detach();
    this.container.innerHTML = `<div class="chart-empty">${esc(message)}</div>`;
  }

  private draw(graphId: string, geo: ChartGeometry): void {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.classList.add('chart-svg');
    svg.innerHTML = chartSvg(geo);
    this.container.replaceChildren(svg);
    this.panZoom.attach(svg.querySelector('g.viewport') as SVGGElement, geo.width, geo.height);
    const states = new Map<string, SVGGElement>();
    const paths = new Map<string, string>();
    svg.querySelectorAll<SVGGElement>('g.state').forEach((g) => {
      states.set(g.dataset.path ?? '', g);
      paths.set(g.dataset.id ?? '', g.dataset.path ?? '');
    });
    const edges = Array.from(svg.querySelectorAll<SVGGElement>('g.edge')).map((el) => ({
      el,
      source: el.dataset.source ?? '',
      target: el.dataset.target ?? '',
      event: el.dataset.event ?? '',
      kind:
        Array.from(el.classList)
          .find((c) => c.startsWith('kind-'))
          ?.slice(5) ?? '',
    }));
    const pathBoxes = new Map([...geo.boxes.values()].map((b) => [b.state.path.join('.'), b]));
    this.drawn = { graphId, geo, states, paths, pathBoxes, edges };
    this.prevActive = new Set();
  }

  private highlight(): void {
    const d = this.drawn;
    if (d === null) return;
    const active = new Set(['', ...activePaths(this.wanted.value)]);
    for (const [path, g] of d.states) g.classList.toggle('active', active.has(path));
    const changed =
      active.size !== this.prevActive.size || [...active].some((p) => !this.prevActive.has(p));
    const taken =
      changed && this.prevActive.size > 0 ? this.takenEdges(d, this.prevActive, active) : null;
    for (const e of d.edges) {
      const src = d.paths.get(e.source);
      const available = src !== undefined && active.has(src) && e.kind !== 'initial';
      e.el.classList.toggle('available', available);
      if (changed) e.el.classList.toggle('taken', taken?.has(e) ?? false);
      const hot = available || e.el.classList.contains('taken');
      e.el
        .querySelector('path')
        ?.setAttribute('marker-end', hot ? 'url(#arrow-hot)' : 'url(#arrow)');
    }
    this.prevActive = active;
    if (changed) this.keepInView(false);
  }

  /**
   * The transitions that led from `prev` to `now`: an edge out of a previously active state
   * whose event is the snapshot's event, followed through eventless (`always`) edges of
   * transient states until it reaches an active state.
   */
  private takenEdges(d: Drawn, prev: Set<string>, now: Set<string>): Set<Drawn['edges'][number]> {
    const event = this.wanted.event;
    const out = new Set<Drawn['edges'][number]>();
    if (event === null) return out;
    const outgoing = new Map<string, Drawn['edges']>();
    for (const e of d.edges) {
      const src = d.paths.get(e.source) ?? '';
      outgoing.set(src, [...(outgoing.get(src) ?? []), e]);
    }
    const follow = (e: Drawn['edges'][number], depth: number): boolean => {
      const dst = d.paths.get(e.target);
      if (dst === undefined) return false;
      let reached = now.has(dst);
      if (!reached && depth < 4) {
        for (const next of outgoing.get(dst) ?? []) {
          if (next.kind === 'always' && follow(next, depth + 1)) reached = true;
        }
      }
      if (reached) out.add(e);
      return reached;
    };
    const matches = (pattern: string): boolean =>
      pattern === event || (pattern.endsWith('*') && event.startsWith(pattern.slice(0, -1)));
    for (const e of d.edges) {
      const src = d.paths.get(e.source);
      if (src !== undefined && prev.has(src) && e.kind !== 'initial' && matches(e.event))
        follow(e, 0);
    }
    return out;
  }
}
