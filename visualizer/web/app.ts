/**
 * The page: holds the timeline and the view state (position, selection, filters) and renders
 * the tree, chart, report and log from the model at the current position, at most ~10 times
 * a second however fast frames arrive. `window.__xrepl` exposes counters for measurements.
 */
import { ChartView } from './chart.js';
import { formatTime } from './format.js';
import { eventLogHtml } from './event-log.js';
import { daemonHtml, daemonSummaryHtml, jobCardHtml } from './daemon-panel.js';
import {
  actorLabel,
  contextOf,
  jobNameOf,
  jobOf,
  type ActorState,
  type ModelState,
} from './model.js';
import type { Frame } from './protocol.js';
import { reportHtml } from './report-panel.js';
import type { ConnectionStatus } from './source.js';
import { Timeline } from './timeline.js';
import { VirtualList } from './tree.js';
import { childrenByParent, treeRows, type StateFilter, type TreeFilter } from './tree-rows.js';
import { actorChipsHtml, reportSelection, summaryHtml } from './views.js';

const RENDER_EVERY_MS = 100;
const LOG_SIZE = 300;

/** Counters read by the end-to-end test and the measurements. */
export interface PageStats {
  frames: number;
  messages: number;
  bytes: number;
  renders: number;
  /** Duration of the last renders (script time, ms), newest last, at most 500. */
  renderMs: number[];
  /** Time folding frames into the timeline, ms total. */
  applyMs: number;
  domRows: number;
  problems: string[];
  /** Breakdown of the last render, ms. */
  parts: { model: number; tree: number; chart: number; report: number; log: number };
}

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`page is missing #${id}`);
  return el;
}

export class App {
  readonly stats: PageStats = {
    frames: 0,
    messages: 0,
    bytes: 0,
    renders: 0,
    renderMs: [],
    applyMs: 0,
    domRows: 0,
    problems: [],
    parts: { model: 0, tree: 0, chart: 0, report: 0, log: 0 },
  };
  private timeline: Timeline;
  /** Frame index shown; null follows the newest frame. */
  private position: number | null = null;
  private selected: string | null = null;
  private filter: TreeFilter = { text: '', state: 'all' };
  private readonly collapsed = new Set<string>();
  /** After a filter change, scroll the selected row into view. */
  private revealSelected = false;
  private readonly chart = new ChartView($('chart'));
  private readonly tree: VirtualList;
  private renderTimer: ReturnType<typeof setTimeout> | null = null;
  private lastRender = 0;
  private playTimer: ReturnType<typeof setInterval> | null = null;
  private cached: { index: number; model: ModelState } | null = null;
  private recent: { t: number; n: number }[] = [];
  private html = { report: '', log: '', summary: '' };
  /** Every actor's name ever seen, also of actors the model forgot (finished promise actors). */
  private readonly names = new Map<string, string>();

  constructor(private readonly mode: 'live' | 'replay') {
    this.timeline = this.newTimeline();
    this.tree = new VirtualList(
      $('tree'),
      (id) => this.select(id),
      (id) => this.toggle(id),
    );
    this.wire();
    document.body.classList.add(`mode-${mode}`);
  }

  /** Folds frames into the timeline and schedules a render. */
  receive(frames: Frame[], bytes = 0): void {
    const t0 = performance.now();
    let n = 0;
    for (const f of frames) {
      this.timeline.append(f);
      n += f.messages.length;
      for (const m of f.messages) {
        if (m.type === '@xrepl.graph') void this.chart.prepare(m.graph);
        else if (m.type === '@xstate.actor') this.names.set(m.sessionId, m.name);
      }
    }
    this.stats.applyMs += performance.now() - t0;
    this.stats.frames += frames.length;
    this.stats.messages += n;
    this.stats.bytes += bytes;
    this.recent.push({ t: performance.now(), n });
    if (this.mode === 'replay' && this.position === null) this.position = this.timeline.length - 1;
    this.requestRender();
  }

  /** Forgets everything (a new live connection starts over with a catch-up frame). */
  reset(): void {
    this.timeline = this.newTimeline();
    this.cached = null;
    this.position = null;
    this.requestRender(true);
  }

  status(status: ConnectionStatus, detail?: string): void {
    const el = $('conn');
    el.className = `conn conn-${status}`;
    el.textContent = detail !== undefined ? `${status} · ${detail}` : status;
  }

  problem(text: string): void {
    this.stats.problems.push(text);
    const el = $('problem');
    el.hidden = false;
    el.textContent = `⚠ ${text}`;
    el.title = this.stats.problems.slice(-10).join('\n');
  }

  private newTimeline(): Timeline {
    return this.mode === 'live'
      ? new Timeline({ maxFrames: 3000, reportEveryMs: 1000 })
      : new Timeline();
  }

  private model(): { index: number; model: ModelState } {
    const last = this.timeline.length - 1;
    const index = this.position === null ? last : Math.min(this.position, last);
    if (index === last) return { index, model: this.timeline.head };
    if (this.cached?.index !== index) this.cached = { index, model: this.timeline.stateAt(index) };
    return this.cached;
  }

  private select(sessionId: string): void {
    this.selected = sessionId;
    this.requestRender(true);
  }

  private toggle(sessionId: string): void {
    if (!this.collapsed.delete(sessionId)) this.collapsed.add(sessionId);
    this.requestRender(true);
  }

  private seek(index: number | null): void {
    const last = this.timeline.length - 1;
    this.position =
      index === null || (this.mode === 'live' && index >= last)
        ? null
        : Math.max(0, Math.min(index, last));
    this.requestRender(true);
  }

  private requestRender(urgent = false): void {
    if (this.renderTimer !== null) {
      if (!urgent) return;
      clearTimeout(this.renderTimer);
    }
    const wait = urgent ? 0 : Math.max(0, this.lastRender + RENDER_EVERY_MS - performance.now());
    this.renderTimer = setTimeout(() => {
      this.renderTimer = null;
      this.lastRender = performance.now();
      this.render();
    }, wait);
  }

  private render(): void {
    const t0 = performance.now();
    const parts = this.stats.parts;
    const lap = (name: keyof PageStats['parts'], since: number): number => {
      const now = performance.now();
      parts[name] = now - since;
      return now;
    };
    const { index, model } = this.model();
    let t = lap('model', t0);
    const rows = treeRows(model, this.filter, this.collapsed);
    if (this.selected === null && rows.rows[0] !== undefined)
      this.selected = rows.rows[0].sessionId;
    this.tree.update(rows.rows, this.selected);
    if (this.revealSelected && this.selected !== null) this.tree.reveal(this.selected);
    this.revealSelected = false;
    $('tree-count').textContent =
      rows.total > 0 ? `${rows.shown} of ${rows.total} filesystems` : '';
    t = lap('tree', t);
    const actor = this.selected !== null ? model.actors.get(this.selected) : undefined;
    this.renderChart(model, actor);
    t = lap('chart', t);
    this.renderReport(model, actor);
    this.renderSummary(model);
    t = lap('report', t);
    this.renderLog(index, model);
    lap('log', t);
    this.renderTimeline(index, model);
    this.stats.renders++;
    this.stats.domRows = this.tree.domRows;
    this.stats.renderMs.push(performance.now() - t0);
    if (this.stats.renderMs.length > 500) this.stats.renderMs.shift();
    this.renderStats();
  }

  private renderChart(model: ModelState, actor: ActorState | undefined): void {
    const graph =
      actor?.machine !== null && actor !== undefined
        ? (model.graphs.get(actor.machine) ?? null)
        : null;
    this.chart.show(
      graph,
      actor?.snapshot.value ?? null,
      actor?.lastEvent ?? null,
      actor?.sessionId ?? null,
    );
    $('chart-title').textContent = actor === undefined ? 'Statechart' : actorLabel(actor);
    const chips = actorChipsHtml(actor);
    const el = $('chart-state');
    if (el.innerHTML !== chips) el.innerHTML = chips;
  }

  private renderReport(model: ModelState, actor: ActorState | undefined): void {
    const now = this.position === null && this.mode === 'live' ? Date.now() : model.time;
    let html: string;
    let at = model.reportAt;
    if (model.daemon === null) {
      html = reportHtml(model.report, reportSelection(model, actor), now);
    } else {
      // A daemon: its jobs, or the selected job (or an actor of its run) with its run's report.
      const name = jobNameOf(model, actor);
      const job = model.daemon.find((j) => j.name === name);
      const run = name !== null ? model.jobReports.get(name) : undefined;
      if (job === undefined) html = daemonHtml(model.daemon, now);
      else {
        html = jobCardHtml(job, now);
        if (run !== undefined) html += reportHtml(run.report, reportSelection(model, actor), now);
      }
      at = run?.at ?? model.daemonAt;
    }
    if (html !== this.html.report) {
      this.html.report = html;
      $('report').innerHTML = html;
    }
    $('report-time').textContent = at !== null ? `as of ${formatTime(at)}` : '';
  }

  private renderSummary(model: ModelState): void {
    const html =
      model.daemon !== null ? daemonSummaryHtml(model.daemon) : summaryHtml(model.report);
    if (html !== this.html.summary) {
      this.html.summary = html;
      $('run-summary').innerHTML = html;
    }
  }

  private renderLog(index: number, model: ModelState): void {
    const only = ($('log-selected') as HTMLInputElement).checked && this.selected !== null;
    const events = this.timeline.eventsUpTo(
      index,
      LOG_SIZE,
      only ? (id) => id === this.selected : undefined,
    );
    const html = eventLogHtml(events, (id) =>
      id === undefined ? '' : actorLabel(model.actors.get(id)) || (this.names.get(id) ?? id),
    );
    if (html === this.html.log) return;
    this.html.log = html;
    // The log is a column-reverse scroller: it stays pinned to the newest event without
    // reading layout (no forced reflow during render).
    $('log').innerHTML = html;
    $('log-count').textContent =
      `${events.length} shown${events.length === LOG_SIZE ? ' (newest)' : ''}`;
  }

  private renderTimeline(index: number, model: ModelState): void {
    const slider = $('slider') as HTMLInputElement;
    const total = this.timeline.length;
    slider.max = String(Math.max(0, total - 1));
    slider.value = String(Math.max(0, index));
    const dropped = this.timeline.dropped;
    $('tl-label').textContent =
      total === 0
        ? 'no frames'
        : `frame ${index + 1 + dropped} / ${total + dropped} · ${formatTime(model.time)}`;
    const live = $('tl-live');
    live.classList.toggle('following', this.position === null);
    live.textContent = this.position === null ? '● Live' : 'Go live';
    $('tl-play').classList.toggle('playing', this.playTimer !== null);
  }

  private renderStats(): void {
    const now = performance.now();
    this.recent = this.recent.filter((r) => now - r.t < 2000);
    const perSec = this.recent.reduce((s, r) => s + r.n, 0) / 2;
    const last = this.stats.renderMs[this.stats.renderMs.length - 1] ?? 0;
    $('stats').textContent = `${Math.round(perSec)} msg/s · render ${last.toFixed(1)} ms`;
  }

  private play(): void {
    if (this.playTimer !== null) {
      clearInterval(this.playTimer);
      this.playTimer = null;
    } else {
      if (this.model().index >= this.timeline.length - 1) this.seek(0);
      this.playTimer = setInterval(() => {
        const i = this.model().index;
        if (i >= this.timeline.length - 1) this.play();
        else this.seek(i + 1);
      }, RENDER_EVERY_MS);
    }
    this.requestRender(true);
  }

  private selectFs(attemptNo: number, index: number): void {
    const { model } = this.model();
    const children = childrenByParent(model);
    // The report shown is the selected job's run's (a daemon), or the lone run's.
    const scope = jobOf(
      model,
      this.selected !== null ? model.actors.get(this.selected) : undefined,
    );
    for (const a of model.actors.values()) {
      if (a.machine !== 'attempt' || contextOf(a).number !== attemptNo) continue;
      if (jobOf(model, a) !== scope) continue;
      const fs = (children.get(a.sessionId) ?? []).find((c) => contextOf(c).index === index);
      if (fs !== undefined) {
        this.select(fs.sessionId);
        this.tree.reveal(fs.sessionId);
      }
    }
  }

  private selectJob(name: string): void {
    for (const a of this.model().model.actors.values()) {
      if (a.machine === 'job' && contextOf(a).name === name && a.snapshot.status === 'active') {
        this.select(a.sessionId);
        this.tree.reveal(a.sessionId);
      }
    }
  }

  private wire(): void {
    const name = $('filter-name') as HTMLInputElement;
    name.addEventListener('input', () => {
      this.filter = { ...this.filter, text: name.value };
      this.revealSelected = true;
      this.requestRender(true);
    });
    const state = $('filter-state') as HTMLSelectElement;
    state.addEventListener('change', () => {
      this.filter = { ...this.filter, state: state.value as StateFilter };
      this.revealSelected = true;
      this.requestRender(true);
    });
    $('chart-fit').addEventListener('click', () => this.chart.fit());
    const follow = $('chart-follow') as HTMLInputElement;
    follow.addEventListener('change', () => {
      this.chart.follow = follow.checked;
    });
    const slider = $('slider') as HTMLInputElement;
    slider.addEventListener('input', () => this.seek(Number(slider.value)));
    $('tl-start').addEventListener('click', () => this.seek(0));
    $('tl-back').addEventListener('click', () => this.seek(this.model().index - 1));
    $('tl-fwd').addEventListener('click', () => this.seek(this.model().index + 1));
    $('tl-end').addEventListener('click', () =>
      this.seek(this.mode === 'live' ? null : this.timeline.length - 1),
    );
    $('tl-live').addEventListener('click', () => this.seek(null));
    $('tl-play').addEventListener('click', () => this.play());
    $('log-selected').addEventListener('change', () => this.requestRender(true));
    $('log').addEventListener('click', (ev) => {
      const id = (ev.target as HTMLElement).closest<HTMLElement>('.ev')?.dataset.session;
      if (id !== undefined && this.model().model.actors.get(id)?.machine != null) this.select(id);
    });
    $('report').addEventListener('click', (ev) => {
      const job = (ev.target as HTMLElement).closest<HTMLElement>('[data-job]')?.dataset.job;
      if (job !== undefined) this.selectJob(job);
      const li = (ev.target as HTMLElement).closest<HTMLElement>('[data-index]');
      if (li !== null) this.selectFs(Number(li.dataset.attempt), Number(li.dataset.index));
    });
    document.addEventListener('keydown', (ev) => {
      if ((ev.target as HTMLElement).closest('input, select') !== null) return;
      if (ev.key === 'ArrowLeft') this.seek(this.model().index - 1);
      else if (ev.key === 'ArrowRight') this.seek(this.model().index + 1);
      else if (ev.key === ' ') this.play();
      else return;
      ev.preventDefault();
    });
  }
}
