/**
 * A laid-out chart as SVG markup: state boxes (name, entry/invoke rows, targetless
 * transitions), edges with their labels, initial-state dots. Every state carries
 * `data-path` (`stepping.running`), every edge `data-source`/`data-target`/`data-event`,
 * so the view highlights by toggling classes. Also the text measure the layout uses.
 */
import {
  LABEL_LINE_H,
  ROW_H,
  TITLE_H,
  transitionText,
  type ChartGeometry,
  type EdgePath,
  type Measure,
} from './chart-layout.js';
import { esc } from './format.js';

const FONT_UI =
  '"Inter", "Segoe UI", system-ui, -apple-system, "Helvetica Neue", "DejaVu Sans", sans-serif';
const FONT_MONO =
  '"JetBrains Mono", "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace';
const FONTS = {
  title: `600 13px ${FONT_UI}`,
  row: `11px ${FONT_MONO}`,
  label: `500 11px ${FONT_UI}`,
};

/** Measures text with a canvas, in the fonts the SVG uses (see style.css). */
export function canvasMeasure(): Measure {
  const ctx = document.createElement('canvas').getContext('2d');
  return (text, role) => {
    if (ctx === null) return text.length * 7;
    ctx.font = FONTS[role];
    return ctx.measureText(text).width;
  };
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

/** The SVG markup of a laid-out chart's states and edges. */
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

/** The whole SVG content: marker definitions and the chart in a `g.viewport` to pan and zoom. */
export function chartSvg(geo: ChartGeometry): string {
  return `${DEFS}<g class="viewport">${drawChart(geo)}</g>`;
}
