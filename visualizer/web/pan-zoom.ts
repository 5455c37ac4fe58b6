/**
 * Pan and zoom of an SVG group inside a container: wheel zooms at the pointer, drag pans,
 * double-click fits; programmatic moves can animate. Pans are kept within the content so no
 * empty margin opens beyond its edges.
 */

/** Scale and translation of the content. */
export interface View {
  k: number;
  x: number;
  y: number;
}

/** A rectangle in content coordinates. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const MARGIN = 16;

/**
 * A pan offset that leaves no empty margin beyond the content's edges: centred if the
 * content is smaller than the view along this axis, else kept within
 * [view - size - MARGIN, MARGIN].
 */
export function clampPan(offset: number, size: number, view: number): number {
  if (size <= view - 2 * MARGIN) return (view - size) / 2;
  return Math.min(MARGIN, Math.max(view - size - MARGIN, offset));
}

/**
 * @example
 * const pz = new PanZoom(container);
 * pz.attach(svg.querySelector('g.viewport'), width, height);
 * pz.fit(false);
 */
export class PanZoom {
  view: View = { k: 1, x: 0, y: 0 };
  private target: SVGGElement | null = null;
  private size = { width: 0, height: 0 };
  private animation: number | null = null;

  constructor(private readonly container: HTMLElement) {
    this.install();
  }

  /** Starts transforming `target`, whose content is `width` x `height`. */
  attach(target: SVGGElement, width: number, height: number): void {
    this.target = target;
    this.size = { width, height };
  }

  detach(): void {
    this.stop();
    this.target = null;
  }

  /** The view that shows the whole content, at most 1.25x. */
  fitView(): View {
    const { width, height } = this.size;
    const cw = this.container.clientWidth;
    const ch = this.container.clientHeight;
    const k = Math.min((cw - 2 * MARGIN) / width, (ch - 2 * MARGIN) / height, 1.25);
    return { k, x: (cw - width * k) / 2, y: Math.max(MARGIN, (ch - height * k) / 2) };
  }

  fit(animate = true): void {
    if (this.target !== null) this.moveTo(this.fitView(), animate);
  }

  /** True if `box` is fully in view at the current view. */
  shows(box: Box): boolean {
    const { k, x, y } = this.view;
    const sx = box.x * k + x;
    const sy = box.y * k + y;
    const cw = this.container.clientWidth;
    const ch = this.container.clientHeight;
    return (
      sx >= MARGIN && sy >= MARGIN && sx + box.w * k <= cw - MARGIN && sy + box.h * k <= ch - MARGIN
    );
  }

  /** Centres `box` at zoom `k` (as far as the content's edges allow). */
  centreOn(box: Box, k: number, animate: boolean): void {
    const cw = this.container.clientWidth;
    const ch = this.container.clientHeight;
    this.moveTo(
      {
        k,
        x: clampPan(cw / 2 - (box.x + box.w / 2) * k, this.size.width * k, cw),
        y: clampPan(ch / 2 - (box.y + box.h / 2) * k, this.size.height * k, ch),
      },
      animate,
    );
  }

  moveTo(target: View, animate: boolean): void {
    this.stop();
    if (!animate) {
      this.view = target;
      this.apply();
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
      this.apply();
      this.animation = t < 1 ? requestAnimationFrame(step) : null;
    };
    this.animation = requestAnimationFrame(step);
  }

  private stop(): void {
    if (this.animation !== null) cancelAnimationFrame(this.animation);
    this.animation = null;
  }

  private apply(): void {
    const { k, x, y } = this.view;
    this.target?.setAttribute(
      'transform',
      `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`,
    );
  }

  private install(): void {
    const c = this.container;
    c.addEventListener(
      'wheel',
      (ev) => {
        if (this.target === null) return;
        ev.preventDefault();
        this.stop();
        const rect = c.getBoundingClientRect();
        const px = ev.clientX - rect.left;
        const py = ev.clientY - rect.top;
        const k = Math.min(4, Math.max(0.1, this.view.k * Math.exp(-ev.deltaY * 0.0015)));
        const f = k / this.view.k;
        this.view = { k, x: px - (px - this.view.x) * f, y: py - (py - this.view.y) * f };
        this.apply();
      },
      { passive: false },
    );
    let drag: { x: number; y: number; vx: number; vy: number } | null = null;
    c.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0) return;
      this.stop();
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
      this.apply();
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
