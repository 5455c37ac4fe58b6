/**
 * Small pure pieces of the page around the panels: the chips beside the chart title, the
 * run summary in the top bar, and what the report panel should detail for a selected actor.
 * DOM-free: they return HTML or data.
 */
import { esc, valueText } from './format.js';
import { blockedOnOf, contextOf, topState, type ActorState, type ModelState } from './model.js';
import type { ReportJson } from './protocol.js';
import type { ReportSelection } from './report-panel.js';

/** Chips beside the chart title: the state value, blockedOn (filesystems), the last event. */
export function actorChipsHtml(actor: ActorState | undefined): string {
  if (actor === undefined) return '';
  const value = valueText(actor.snapshot.value);
  let chips = `<span class="chip s-${esc(topState(actor.snapshot.value))}" id="chart-value">${esc(value || actor.snapshot.status)}</span>`;
  if (actor.machine === 'filesystem') {
    chips += `<span class="chip plain">blockedOn ${esc(blockedOnOf(actor.snapshot))}</span>`;
  }
  if (actor.lastEvent !== null) {
    chips += `<span class="chip plain muted" title="last event">⟵ ${esc(actor.lastEvent)}</span>`;
  }
  return chips;
}

/** The top bar: run state, attempt number, filesystems done and failed in the last attempt. */
export function summaryHtml(r: ReportJson | null): string {
  if (r === null) return '';
  const a = r.attempts[r.attempts.length - 1];
  const done = a?.filesystems.filter((f) => f.state === 'done').length ?? 0;
  const errors = a?.filesystems.filter((f) => f.state.endsWith('error')).length ?? 0;
  const failed = errors > 0 ? `<span class="err-count">${errors} failed</span>` : '';
  return `<span class="chip s-${esc(r.state)}">${esc(r.state)}</span><span>attempt ${r.attempts.length}</span><span><b>${done}</b>/${a?.filesystems.length ?? 0} done</span>${failed}`;
}

/** What the report panel details: the selected filesystem's attempt and index, its step queue. */
export function reportSelection(model: ModelState, actor: ActorState | undefined): ReportSelection {
  const sel: ReportSelection = { attempt: null, fsIndex: null, queue: null };
  let attempt: ActorState | undefined;
  if (actor?.machine === 'filesystem') {
    attempt = actor.parentId !== undefined ? model.actors.get(actor.parentId) : undefined;
    const i = contextOf(actor).index;
    sel.fsIndex = typeof i === 'number' ? i : null;
  } else if (actor?.machine === 'attempt') {
    attempt = actor;
  }
  const n = contextOf(attempt).number;
  if (typeof n === 'number') sel.attempt = n;
  if (attempt === undefined) return sel;
  for (const a of model.actors.values()) {
    if (a.parentId === attempt.sessionId && a.machine === null && a.name === 'step-queue') {
      const q = contextOf(a);
      sel.queue = {
        concurrency: Number(q.concurrency),
        held: Number(q.held),
        waiting: Number(q.waiting),
        admitted: Number(q.admitted),
      };
    }
  }
  return sel;
}
