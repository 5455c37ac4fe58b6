/**
 * The statechart view: lays a machine graph out with elkjs (loaded by a script tag from
 * `/vendor/elk.bundled.js`, global `ELK`), draws it as SVG once per machine, and then only
 * toggles classes to highlight the selected actor's active states, the transitions it can
 * take, and the one it just took. Wheel zooms, drag pans, double-click fits.
 */
import type { ElkNode } from 'elkjs/lib/elk-api.js';
import {
  geometryFrom,
  LABEL_LINE_H,
  ROW_H,
  TITLE_H,
  toElkGraph,
  transitionText,
  type ChartGeometry,
  type EdgePath,
  type Measure,
  type StateBox,
} from './chartLayout.js';
import { esc } from './format.js';
import { activePaths } from './model.js';
import type { MachineGraph } from './protocol.js';

declare const ELK: new () => { layout(graph: ElkNode): Promise<ElkNode> };

const FONT_UI =
  '"Inter", "Segoe UI", system-ui, -apple-system, "Helvetica Neue", "DejaVu Sans", sans-serif';
const FONT_MONO =
  '"JetBrains Mono", "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace';
/** Zoom at which the chart reads well; below it, `follow` zooms in on the active state. */
const FOLLOW_ZOOM = 0.8;
const FONTS = {
  title: `600 13px ${FONT_UI}`,
  row: `11px ${FONT_MONO}`,
  label: `500 11px ${FONT_UI}`,
};

function canvasMeasure(): Measure {
  const ctx = document.createElement('canvas').getContext('2d');
  return (text, role) => {
    if (ctx === null) return text.length * 7;
    ctx.font = FONTS[role];
    return ctx.measureText(text).width;
  };
}

/**
 * A pan offset that leaves no empty margin beyond the chart's edges: centred if the chart
 * is smaller than the view along this axis, else kept within [view - size - 16, 16].
 */
function clampPan(offset: number, size: number, view: number): number {
  if (size <= view - 32) return (view - size) / 2;
  return Math.min(16, Math.max(view - size - 16, offset));
}

/** Rounded orthogonal polyline through the points. */
function pathOf(points: { x: number; y: number }[], r = 7): string {
  if (points.length === 0) return '';
  const [first] = points as [{ x: number; y: number }];
  let d = `M${first.x.toFixed(1)},${first.y.toFixed(1)}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i - 1] as { x: number; y: number };
    const c = points[i] as { x: number; y: number };
    const n = points[i + 1] as { x: number; y: number };
    const r1 = Math.min(
      r,
      Math.hypot(c.x - p.x, c.y - p.y) / 2,
      Math.hypot(n.x - c.x, n.y - c.y) / 2,
    );
    const a = { x: c.x - Math.sign(c.x - p.x) * r1, y: c.y - Math.sign(c.y - p.y) * r1 };
    const b = { x: c.x + Math.sign(n.x - c.x) * r1, y: c.y + Math.sign(n.y - c.y) * r1 };
    d += ` L${a.x.toFixed(1)},${a.y.toFixed(1)} Q${c.x.toFixed(1)},${c.y.toFixed(1)} ${b.x.toFixed(1)},${b.y.toFixed(1)}`;
  }
  const last = points[points.length - 1] as { x: number; y: number };
  return `${d} L${last.x.toFixed(1)},${last.y.toFixed(1)}`;
}

function edgeTitle(e: EdgePath): string {
  const t = e.transition;
  if (t === null) return 'initial state';
  const actions = t.actions.length > 0 ? `\nactions: ${t.actions.join(', ')}` : '';
  const event = t.event !== '' ? `\nevent: ${t.event}` : '';
  return `${transitionText(t)}${event}${actions}${t.reenter ? '\nreenter' : ''}`;
}

/** The SVG markup of a laid-out chart. */
function drawChart(geo: ChartGeometry): string {
  const out: string[] = [];
  const boxes = [...geo.boxes.values()].sort((a, b) => a.state.path.length - b.state.path.length);
  for (const b of boxes) {
    const s = b.state;
    const path = s.path.join('.');
    const cls = `state type-${s.type}${b.compound ? ' compound' : ''}${s.parent === null ? ' root' : ''}`;
    out.push(`<g class="${cls}" data-id="${esc(s.id)}" data-path="${esc(path)}">`);
    out.push(`<rect class="box" x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="10"/>`);
    if (s.type === 'final') {
      out.push(
        `<rect class="inner" x="${b.x + 3}" y="${b.y + 3}" width="${b.w - 6}" height="${b.h - 6}" rx="7"/>`,
      );
    }
    const title = s.parent === null ? s.id : s.key;
    out.push(`<text class="title" x="${b.x + 12}" y="${b.y + 18}">${esc(title)}</text>`);
    if (b.rows.length > 0) {
      const y0 = b.y + TITLE_H;
      out.push(`<line class="divider" x1="${b.x}" x2="${b.x + b.w}" y1="${y0}" y2="${y0}"/>`);
      b.rows.forEach((r, i) => {
        const ev = r.transition !== undefined ? ` data-event="${esc(r.transition.event)}"` : '';
        out.push(
          `<text class="row row-${r.kind}" x="${b.x + 12}" y="${y0 + 13 + i * ROW_H}"${ev}>${esc(r.text)}</text>`,
        );
      });
    }
    out.push('</g>');
  }
  out.push('<g class="edges">');
  for (const e of geo.edges) {
    const t = e.transition;
    const kind = t?.kind ?? 'initial';
    out.push(
      `<g class="edge kind-${kind}" data-source="${esc(e.source)}" data-target="${esc(e.target)}" data-event="${esc(t?.event ?? '')}">`,
      `<title>${esc(edgeTitle(e))}</title>`,
      `<path d="${pathOf(e.points)}" marker-end="url(#arrow)"/>`,
    );
    if (e.label !== null) {
      const l = e.label;
      out.push(
        `<rect class="label-bg" x="${l.x}" y="${l.y}" width="${l.w}" height="${l.h}" rx="4"/>`,
      );
      l.text.split('\n').forEach((line, i) => {
        const cls = line.startsWith('[') ? 'label guard' : 'label';
        out.push(
          `<text class="${cls}" x="${l.x + l.w / 2}" y="${l.y + 13 + i * LABEL_LINE_H}">${esc(line)}</text>`,
        );
      });
    }
    out.push('</g>');
  }
  out.push('</g>');
  for (const i of geo.initials) out.push(`<circle class="initial" cx="${i.x}" cy="${i.y}" r="5"/>`);
  return out.join('');
}

const DEFS = `<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,1 L10,5 L0,9 z" class="arrowhead"/></marker>
<marker id="arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,1 L10,5 L0,9 z" class="arrowhead hot"/></marker>
</defs>`;

interface Drawn {
  graphId: string;
  geo: ChartGeometry;
  svg: SVGSVGElement;
  viewport: SVGGElement;
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
 * chart.show(graph, { stepping: 'running' }, 'GRANTED');
 */
export class ChartView {
  private readonly layouts = new Map<string, Promise<ChartGeometry>>();
  private readonly measure = canvasMeasure();
  private drawn: Drawn | null = null;
  private wanted: { graph: MachineGraph | null; value: unknown; event: string | null } = {
    graph: null,
    value: null,
    event: null,
  };
  private prevActive = new Set<string>();
  private view = { k: 1, x: 0, y: 0 };
  private animation: number | null = null;
  /** Keep the active state in view, zoomed in enough to read, when the chart is too big to fit. */
  follow = true;
  private actor: string | null = null;

  constructor(private readonly container: HTMLElement) {
    this.installPanZoom();
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
    if (this.drawn === null) return;
    this.moveTo(this.fitView(), true);
  }

  private fitView(): { k: number; x: number; y: number } {
    const { width, height } = (this.drawn as Drawn).geo;
    const cw = this.container.clientWidth;
    const ch = this.container.clientHeight;
    const k = Math.min((cw - 32) / width, (ch - 32) / height, 1.25);
    return { k, x: (cw - width * k) / 2, y: Math.max(16, (ch - height * k) / 2) };
  }

  /**
   * A chart that fits at a readable zoom is shown whole. A bigger one is shown at a readable
   * zoom centred on the innermost active state when first drawn, and then, with `follow`,
   * panned whenever that state leaves the view (a new actor, a new state).
   */
  private keepInView(fresh: boolean): void {
    const d = this.drawn;
    if (d === null) return;
    const fit = this.fitView();
    if (fit.k >= FOLLOW_ZOOM) {
      if (fresh) this.moveTo(fit, false);
      return;
    }
    if (!this.follow && !fresh) return;
    const leaf = [...this.prevActive]
      .filter((p) => p !== '')
      .sort((a, b) => b.split('.').length - a.split('.').length)[0];
    const box = leaf !== undefined ? d.pathBoxes.get(leaf) : undefined;
    if (box === undefined) {
      if (fresh) this.moveTo(fit, false);
      return;
    }
    const cw = this.container.clientWidth;
    const ch = this.container.clientHeight;
    const k = fresh ? FOLLOW_ZOOM : this.view.k;
    const sx = box.x * k + this.view.x;
    const sy = box.y * k + this.view.y;
    const inside = sx >= 16 && sy >= 16 && sx + box.w * k <= cw - 16 && sy + box.h * k <= ch - 16;
    if (!fresh && inside) return;
    const { width, height } = d.geo;
    this.moveTo(
      {
        k,
        x: clampPan(cw / 2 - (box.x + box.w / 2) * k, width * k, cw),
        y: clampPan(ch / 2 - (box.y + box.h / 2) * k, height * k, ch),
      },
      !fresh,
    );
  }

  private moveTo(target: { k: number; x: number; y: number }, animate: boolean): void {
    if (this.animation !== null) cancelAnimationFrame(this.animation);
    this.animation = null;
    if (!animate) {
      this.view = target;
      this.applyView();
      return;
    }
    const from = this.view;
    const start = performance.now();
    const step = (now: number): void => {
      const t = Math.min(1, (now - start) / 300);
      const e = 1 - (1 - t) ** 3;
      this.view = {
        k: from.k + (target.k - from.k) * e,
        x: from.x + (target.x - from.x) * e,
        y: from.y + (target.y - from.y) * e,
      };
      this.applyView();
      this.animation = t < 1 ? requestAnimationFrame(step) : null;
    };
    this.animation = requestAnimationFrame(step);
  }

  private clear(message: string): void {
    this.drawn = null;
    this.container.innerHTML = `<div class="chart-empty">${esc(message)}</div>`;
  }

  private draw(graphId: string, geo: ChartGeometry): void {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.classList.add('chart-svg');
    svg.innerHTML = `${DEFS}<g class="viewport">${drawChart(geo)}</g>`;
    this.container.replaceChildren(svg);
    const viewport = svg.querySelector('g.viewport') as SVGGElement;
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
    this.drawn = { graphId, geo, svg, viewport, states, paths, pathBoxes, edges };
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

  private applyView(): void {
    const { k, x, y } = this.view;
    this.drawn?.viewport.setAttribute(
      'transform',
      `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`,
    );
  }

  private installPanZoom(): void {
    const c = this.container;
    c.addEventListener(
      'wheel',
      (ev) => {
        if (this.drawn === null) return;
        ev.preventDefault();
        const rect = c.getBoundingClientRect();
        const px = ev.clientX - rect.left;
        const py = ev.clientY - rect.top;
        this.moveTo(this.view, false);
        const factor = Math.exp(-ev.deltaY * 0.0015);
        const k = Math.min(4, Math.max(0.1, this.view.k * factor));
        const f = k / this.view.k;
        this.view = { k, x: px - (px - this.view.x) * f, y: py - (py - this.view.y) * f };
        this.applyView();
      },
      { passive: false },
    );
    let drag: { x: number; y: number; vx: number; vy: number } | null = null;
    c.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0) return;
      this.moveTo(this.view, false);
      drag = { x: ev.clientX, y: ev.clientY, vx: this.view.x, vy: this.view.y };
      c.setPointerCapture(ev.pointerId);
      c.classList.add('dragging');
    });
    c.addEventListener('pointermove', (ev) => {
      if (drag === null) return;
      this.view = {
        ...this.view,
        x: drag.vx + ev.clientX - drag.x,
        y: drag.vy + ev.clientY - drag.y,
      };
      this.applyView();
    });
    const end = (): void => {
      drag = null;
      c.classList.remove('dragging');
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener('dblclick', () => this.fit());
  }
}
