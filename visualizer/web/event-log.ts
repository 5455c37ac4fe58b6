/**
 * The event log: the newest events up to the timeline position, with the actor they were
 * sent to and the sender. DOM-free: returns HTML.
 */
import { esc, formatTime } from './format.js';
import type { LoggedEvent } from './timeline.js';

function kindOf(type: string): string {
  if (type.startsWith('xstate.done')) return 'done';
  if (type.startsWith('xstate.error')) return 'error';
  if (type.startsWith('xstate.')) return 'internal';
  return 'user';
}

function payload(event: Record<string, unknown>): string {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) if (k !== 'type') rest[k] = v;
  if (Object.keys(rest).length === 0) return '';
  const text = JSON.stringify(rest);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

/** Row HTML per event message and target name (events are immutable). */
const rowCache = new WeakMap<object, { key: string; html: string }>();

/** Rows of the log, newest first (the log scrolls in reverse); `name` labels an actor by session id. */
export function eventLogHtml(
  events: LoggedEvent[],
  name: (sessionId: string | undefined) => string,
): string {
  if (events.length === 0) return '<div class="empty">No events yet.</div>';
  let html = '';
  for (let i = events.length - 1; i >= 0; i--) {
    const { msg } = events[i] as LoggedEvent;
    const target = name(msg.sessionId);
    const source = msg.sourceId !== undefined ? name(msg.sourceId) : '';
    const key = `${target}\u0000${source}`;
    const cached = rowCache.get(msg);
    if (cached?.key === key) {
      html += cached.html;
      continue;
    }
    const type = msg.event.type;
    const src = msg.sourceId !== undefined ? `<span class="src">← ${esc(source)}</span>` : '';
    const row =
      `<div class="ev" data-session="${esc(msg.sessionId)}"><span class="time">${formatTime(msg.createdAt)}</span>` +
      `<span class="target">${esc(target)}</span><span class="etype k-${kindOf(type)}">${esc(type)}</span>` +
      `${src}<span class="payload">${esc(payload(msg.event))}</span></div>`;
    rowCache.set(msg, { key, html: row });
    html += row;
  }
  return html;
}
