/**
 * The live report panel: the run (state, times, the reconnect window while waiting), the
 * attempt's totals (filesystems by state, steps, bytes), the selected filesystem (steps with
 * byte progress, errors with times) and the attempt's errors. DOM-free: returns HTML.
 */
import { esc, formatBytes, formatDuration, formatTime, percent } from './format.js';
import type {
  AttemptReportJson,
  FilesystemReportJson,
  ReportJson,
  TimedErrorJson,
} from './protocol.js';
import { bytesOf } from './tree-rows.js';

export interface ReportSelection {
  /** Attempt to detail (default: the last). */
  attempt: number | null;
  /** Filesystem (index in that attempt) to detail. */
  fsIndex: number | null;
  /** The attempt's step queue, while it runs. */
  queue: { concurrency: number; held: number; waiting: number; admitted: number } | null;
}

const FS_STATES = [
  'planning',
  'stepping',
  'retry-wait',
  'done',
  'planning-error',
  'step-error',
] as const;

function badge(state: string): string {
  return `<span class="chip s-${esc(state)}">${esc(state)}</span>`;
}

function bar(done: number, total: number, cls = ''): string {
  const p = percent(done, total);
  return `<div class="bar ${cls}"><span style="width:${p.toFixed(2)}%"></span></div>`;
}

function kv(key: string, value: string): string {
  return `<div class="kv"><span class="k">${esc(key)}</span><span class="v">${value}</span></div>`;
}

function errorHtml(label: string, e: TimedErrorJson | null): string {
  if (e === null) return '';
  return `<div class="error-box"><div class="error-head">${esc(label)} <span class="time">${formatTime(e.time)}</span></div><div class="error-text">${esc(e.err)}</div></div>`;
}

function runCard(r: ReportJson, now: number): string {
  const end = r.finishAt !== null ? Date.parse(r.finishAt) : now;
  let html = `<section class="card"><div class="card-head"><h3>Run</h3>${badge(r.state)}</div>`;
  html += kv('started', formatTime(r.startAt));
  html += kv(
    r.finishAt !== null ? 'finished' : 'running for',
    r.finishAt !== null
      ? `${formatTime(r.finishAt)} <span class="muted">(${formatDuration(end - Date.parse(r.startAt))})</span>`
      : formatDuration(end - Date.parse(r.startAt)),
  );
  html += kv('attempts', String(r.attempts.length));
  if (r.waitReconnectSince !== null && r.waitReconnectUntil !== null) {
    const since = Date.parse(r.waitReconnectSince);
    const until = Date.parse(r.waitReconnectUntil);
    const waiting = r.state === 'waiting-reconnect';
    html += `<div class="reconnect${waiting ? ' waiting' : ''}"><div class="reconnect-head">${waiting ? 'Waiting for reconnect' : 'Reconnect window'}</div>`;
    html += kv('since', formatTime(r.waitReconnectSince));
    html += kv(
      'deadline',
      `${formatTime(r.waitReconnectUntil)}${waiting ? ` <span class="muted">(${formatDuration(until - now)} left)</span>` : ''}`,
    );
    html += bar(Math.min(now, until) - since, until - since, 'amber');
    html += '</div>';
  }
  html += errorHtml('reconnect failed', r.waitReconnectError);
  return `${html}</section>`;
}

function attemptTotals(a: AttemptReportJson): {
  counts: Record<string, number>;
  steps: [number, number];
  bytes: [number, number];
  blocked: Record<string, number>;
} {
  const counts: Record<string, number> = {};
  const blocked: Record<string, number> = {};
  let stepsDone = 0;
  let stepsTotal = 0;
  let bytesDone = 0;
  let bytesTotal = 0;
  for (const fs of a.filesystems) {
    counts[fs.state] = (counts[fs.state] ?? 0) + 1;
    if (fs.blockedOn !== 'nothing') blocked[fs.blockedOn] = (blocked[fs.blockedOn] ?? 0) + 1;
    stepsDone += Math.min(fs.currentStep, fs.steps.length);
    stepsTotal += fs.steps.length;
    const b = bytesOf(fs);
    bytesDone += b.done;
    bytesTotal += b.total;
  }
  return { counts, steps: [stepsDone, stepsTotal], bytes: [bytesDone, bytesTotal], blocked };
}

function attemptCard(a: AttemptReportJson, n: number, sel: ReportSelection, now: number): string {
  const t = attemptTotals(a);
  const total = a.filesystems.length;
  let html = `<section class="card"><div class="card-head"><h3>Attempt ${n + 1}</h3>${badge(a.state)}</div>`;
  const end = a.finishAt !== null ? Date.parse(a.finishAt) : now;
  html += kv(
    'started',
    `${formatTime(a.startAt)} <span class="muted">(${formatDuration(end - Date.parse(a.startAt))})</span>`,
  );
  html += `<div class="stack" title="filesystems by state">`;
  for (const s of FS_STATES) {
    const c = t.counts[s] ?? 0;
    if (c > 0) html += `<span class="s-${s}" style="flex-grow:${c}" title="${s}: ${c}"></span>`;
  }
  html += '</div><div class="legend">';
  for (const s of FS_STATES) {
    html += `<span class="legend-item"><span class="dot s-${s}"></span>${s} <b>${t.counts[s] ?? 0}</b></span>`;
  }
  html += `</div>`;
  html += kv('filesystems', String(total));
  html += kv('steps', `${t.steps[0]} / ${t.steps[1]}`);
  html += bar(t.steps[0], t.steps[1]);
  html += kv(
    'bytes',
    `${formatBytes(t.bytes[0])} / ${formatBytes(t.bytes[1])} <span class="muted">${percent(t.bytes[0], t.bytes[1]).toFixed(1)}%</span>`,
  );
  html += bar(t.bytes[0], t.bytes[1], 'green');
  const blocked = Object.entries(t.blocked)
    .map(([k, v]) => `<span>${esc(k)} <b>${v}</b></span>`)
    .join('');
  if (blocked !== '')
    html += `<div class="kv block"><span class="k">blocked on</span><span class="v">${blocked}</span></div>`;
  if (sel.queue !== null) {
    const q = sel.queue;
    html += `<div class="kv block"><span class="k">step queue</span><span class="v"><span>held <b>${q.held}</b>/${q.concurrency}</span><span>waiting <b>${q.waiting}</b></span><span>admitted <b>${q.admitted}</b></span></span></div>`;
  }
  html += errorHtml('planning failed', a.planError);
  return `${html}</section>`;
}

/** D13, D14: re-plans and retries of the attempt, when the retry starts, and why. */
function healingHtml(fs: FilesystemReportJson, now: number): string {
  // Reports recorded before D13-D15 have none of these fields.
  const replans = fs.replans ?? 0;
  const retries = fs.retries ?? 0;
  if (replans === 0 && retries === 0) return '';
  let html = `<div class="healing${fs.state === 'retry-wait' ? ' waiting' : ''}">`;
  html += kv('re-plans', String(replans));
  html += kv('retries', String(retries));
  if (fs.retryAt != null) {
    const at = Date.parse(fs.retryAt);
    html += kv(
      'retry at',
      `${formatTime(fs.retryAt)} <span class="muted">(in ${formatDuration(Math.max(0, at - now))})</span>`,
    );
  }
  html += errorHtml(
    fs.state === 'retry-wait' ? 'retrying after' : 'healed from',
    fs.retryError ?? null,
  );
  return `${html}</div>`;
}

function fsCard(fs: FilesystemReportJson, now: number): string {
  let html = `<section class="card fs-card"><div class="card-head"><h3 class="fs-name" title="${esc(fs.info.name)}">${esc(fs.info.name)}</h3>${badge(fs.state)}</div>`;
  html += kv('blocked on', esc(fs.blockedOn));
  html += kv('step', `${Math.min(fs.currentStep, fs.steps.length)} / ${fs.steps.length}`);
  if (fs.steps.length > 0) {
    html += '<ol class="steps">';
    fs.steps.forEach((s, i) => {
      const st =
        i < fs.currentStep
          ? 'done'
          : i === fs.currentStep && fs.state === 'stepping'
            ? 'current'
            : fs.state === 'step-error' && i === fs.currentStep
              ? 'failed'
              : 'pending';
      const from = s.info.from === '' ? '<span class="muted">full</span>' : esc(s.info.from);
      html += `<li class="step-${st}"><div class="step-head"><span>${from} → ${esc(s.info.to)}</span>${s.info.resumed ? '<span class="tag">resumed</span>' : ''}<span class="grow"></span><span class="muted">${formatBytes(s.info.bytesReplicated)} / ${formatBytes(s.info.bytesExpected)}</span></div>${bar(s.info.bytesReplicated, s.info.bytesExpected, st === 'failed' ? 'red' : 'green')}</li>`;
    });
    html += '</ol>';
  }
  html += healingHtml(fs, now);
  html += errorHtml('planning failed', fs.planError);
  html += errorHtml('step failed', fs.stepError);
  return `${html}</section>`;
}

function errorsCard(a: AttemptReportJson, n: number): string {
  const items: { i: number; name: string; kind: string; e: TimedErrorJson }[] = [];
  a.filesystems.forEach((fs, i) => {
    if (fs.planError !== null) items.push({ i, name: fs.info.name, kind: 'plan', e: fs.planError });
    if (fs.stepError !== null) items.push({ i, name: fs.info.name, kind: 'step', e: fs.stepError });
  });
  if (items.length === 0) return '';
  items.sort((x, y) => Date.parse(y.e.time) - Date.parse(x.e.time));
  let html = `<section class="card"><div class="card-head"><h3>Errors</h3><span class="chip s-step-error">${items.length}</span></div><ul class="errors">`;
  for (const it of items.slice(0, 100)) {
    html += `<li data-attempt="${n}" data-index="${it.i}"><div class="error-head"><span class="fs-link">${esc(it.name)}</span><span class="muted">${it.kind}</span><span class="grow"></span><span class="time">${formatTime(it.e.time)}</span></div><div class="error-text">${esc(it.e.err)}</div></li>`;
  }
  if (items.length > 100)
    html += `<li class="muted">… ${items.length - 100} more (filter the tree by errors)</li>`;
  return `${html}</ul></section>`;
}

/** The panel's HTML for a report; `now` is the time the view shows (the frame's, in replay). */
export function reportHtml(report: ReportJson | null, sel: ReportSelection, now: number): string {
  if (report === null)
    return '<div class="empty">No report yet. Attach a replication to the visualizer.</div>';
  let html = runCard(report, now);
  const n = sel.attempt ?? report.attempts.length - 1;
  const attempt = report.attempts[n];
  if (attempt !== undefined) {
    const fs = sel.fsIndex !== null ? attempt.filesystems[sel.fsIndex] : undefined;
    if (fs !== undefined) html += fsCard(fs, now);
    html += attemptCard(attempt, n, sel, now);
    html += errorsCard(attempt, n);
  }
  return html;
}
