/**
 * The actor tree as a virtualised list: only the rows in view (plus a few) are in the DOM,
 * recycled as the list scrolls, and a row's HTML is rewritten only when it changed. Holds
 * 2,000+ filesystems at a constant DOM size.
 */
import { esc, formatBytes, formatTime, percent } from './format.js';
import type { TreeRow } from './tree-rows.js';

export const ROW_HEIGHT = 30;
const OVERSCAN = 6;

/** Short words for blockedOn in a row; the title has the report's word. */
const BLOCKED: Record<string, string> = {
  'plan-queue': 'queued',
  'parent-initial-repl': 'parents',
  'repl-queue': 'queued',
  'retry-backoff': 'retry',
};

/** Inner HTML of one row. */
export function rowHtml(row: TreeRow, selected: boolean): string {
  const caret =
    row.childCount > 0
      ? `<button class="caret" data-toggle="${esc(row.sessionId)}" title="${row.collapsed ? 'expand' : 'collapse'}">${row.collapsed ? '▸' : '▾'}</button>`
      : '<span class="caret-space"></span>';
  const blocked =
    row.blockedOn !== 'nothing'
      ? `<span class="blocked" title="blockedOn: ${esc(row.blockedOn)}">${esc(BLOCKED[row.blockedOn] ?? row.blockedOn)}</span>`
      : '';
  const step =
    row.step !== null
      ? `<span class="step" title="step ${row.step.current} of ${row.step.total}">${Math.min(row.step.current, row.step.total)}/${row.step.total}</span>`
      : '';
  let bar = '';
  if (row.bytes !== null) {
    const p = percent(row.bytes.done, row.bytes.total);
    bar = `<span class="mini-bar" title="${formatBytes(row.bytes.done)} of ${formatBytes(row.bytes.total)}"><span style="width:${p.toFixed(1)}%"></span></span>`;
  }
  const err =
    row.error !== null
      ? `<span class="err-dot" title="${esc(`${formatTime(row.error.time)} ${row.error.err}`)}">!</span>`
      : '';
  const count =
    row.kind === 'attempt' || row.kind === 'run' || row.kind === 'daemon'
      ? `<span class="count">${row.childCount}</span>`
      : '';
  let job = '';
  if (row.job !== null) {
    job = `<span class="tag job-type">${esc(row.job.type)}</span>`;
    if (row.job.nextTick !== null)
      job += `<span class="next" title="next tick ${esc(row.job.nextTick)}">next ${formatTime(row.job.nextTick)}</span>`;
  }
  return (
    `<div class="row-main${selected ? ' selected' : ''}" style="padding-left:${8 + row.depth * 16}px">` +
    `${caret}<span class="dot s-${esc(row.state)}"></span>` +
    `<span class="name" title="${esc(row.label)}">${esc(row.label)}</span>${count}${err}` +
    `<span class="grow"></span>${job}${blocked}${step}${bar}` +
    `<span class="chip s-${esc(row.state)}" title="${esc(row.value)}">${esc(row.state)}</span></div>`
  );
}

/**
 * @example
 * const list = new VirtualList(el, (id) => select(id), (id) => toggle(id));
 * list.update(rows, selectedId);
 */
export class VirtualList {
  private rows: TreeRow[] = [];
  private selected: string | null = null;
  private readonly spacer: HTMLDivElement;
  private readonly pool: HTMLDivElement[] = [];

  constructor(
    private readonly container: HTMLElement,
    onSelect: (sessionId: string) => void,
    onToggle: (sessionId: string) => void,
  ) {
    this.spacer = document.createElement('div');
    this.spacer.className = 'vlist-spacer';
    container.replaceChildren(this.spacer);
    container.addEventListener('scroll', () => this.paint(), { passive: true });
    container.addEventListener('click', (ev) => {
      const target = ev.target as HTMLElement;
      const toggle = target.closest<HTMLElement>('[data-toggle]');
      if (toggle !== null) {
        onToggle(toggle.dataset.toggle ?? '');
        return;
      }
      const row = target.closest<HTMLElement>('.row');
      if (row?.dataset.session !== undefined) onSelect(row.dataset.session);
    });
    new ResizeObserver(() => this.paint()).observe(container);
  }

  /** How many row elements are in the DOM (for measurements). */
  get domRows(): number {
    return this.pool.filter((el) => el.style.display !== 'none').length;
  }

  update(rows: TreeRow[], selected: string | null): void {
    this.rows = rows;
    this.selected = selected;
    this.paint();
  }

  /** Scrolls so the row of `sessionId` is visible. */
  reveal(sessionId: string): void {
    const i = this.rows.findIndex((r) => r.sessionId === sessionId);
    if (i < 0) return;
    const top = i * ROW_HEIGHT;
    const c = this.container;
    if (top < c.scrollTop || top + ROW_HEIGHT > c.scrollTop + c.clientHeight) {
      c.scrollTop = Math.max(0, top - c.clientHeight / 2);
    }
  }

  private paint(): void {
    const c = this.container;
    // Reads first (scroll position, size), then writes: no forced reflow.
    const height = `${this.rows.length * ROW_HEIGHT}px`;
    const first = Math.max(0, Math.floor(c.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(
      this.rows.length,
      Math.ceil((c.scrollTop + c.clientHeight) / ROW_HEIGHT) + OVERSCAN,
    );
    const needed = last - first;
    if (this.spacer.style.height !== height) this.spacer.style.height = height;
    while (this.pool.length < needed) {
      const el = document.createElement('div');
      el.className = 'row';
      this.container.appendChild(el);
      this.pool.push(el);
    }
    for (let k = 0; k < this.pool.length; k++) {
      const el = this.pool[k] as HTMLDivElement;
      const row = k < needed ? this.rows[first + k] : undefined;
      if (row === undefined) {
        // A spare element: empty, so no stale row can be found or clicked.
        if (el.style.display !== 'none') {
          el.style.display = 'none';
          (el as { _html?: string })._html = '';
          el.innerHTML = '';
          for (const key of ['session', 'name', 'kind', 'state', 'blocked']) delete el.dataset[key];
        }
        continue;
      }
      el.style.display = '';
      el.style.transform = `translateY(${(first + k) * ROW_HEIGHT}px)`;
      const html = rowHtml(row, row.sessionId === this.selected);
      if ((el as { _html?: string })._html !== html) {
        (el as { _html?: string })._html = html;
        el.innerHTML = html;
        el.dataset.session = row.sessionId;
        el.dataset.name = row.label;
        el.dataset.kind = row.kind;
        el.dataset.state = row.state;
        el.dataset.blocked = row.blockedOn;
      }
    }
  }
}
