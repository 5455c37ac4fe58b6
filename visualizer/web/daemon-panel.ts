/**
 * The report panel of a daemon: its jobs in a table (state, next tick, last result), a job's
 * card (its last snapshot, run and prunes, its error), and the top bar's summary. The selected
 * job's run report is report-panel.ts's. DOM-free: returns HTML.
 */
import { esc, formatBytes, formatDuration, formatTime } from './format.js';
import type { DaemonJobJson, PruneSummaryJson, RunSummaryJson } from './protocol.js';

const isBusy = (j: DaemonJobJson): boolean => j.state !== 'idle' && !j.state.endsWith('-error');

function chip(state: string): string {
  return `<span class="chip s-${esc(state)}">${esc(state)}</span>`;
}

function kv(key: string, value: string): string {
  return `<div class="kv"><span class="k">${esc(key)}</span><span class="v">${value}</span></div>`;
}

function runText(run: RunSummaryJson): string {
  const failed = run.failed > 0 ? `, <b>${run.failed}</b> failed` : '';
  return `${chip(run.state)} <b>${run.done}</b>/${run.filesystems} done${failed} · ${formatBytes(run.bytes)}`;
}

function nextText(job: DaemonJobJson, now: number): string {
  if (job.nextTick === null) return '<span class="muted">no schedule</span>';
  const left = Date.parse(job.nextTick) - now;
  return `${formatTime(job.nextTick)} <span class="muted">(${left > 0 ? `in ${formatDuration(left)}` : 'due'})</span>`;
}

/** What a job did last, in one line: its error, else its run, else its snapshot. */
export function lastResultHtml(job: DaemonJobJson): string {
  if (job.lastError !== null) {
    return `<span class="err-text" title="${esc(job.lastError.err)}">${esc(job.lastError.during)} failed: ${esc(job.lastError.err)}</span>`;
  }
  if (job.run !== null) return runText(job.run);
  if (job.lastSnapshot !== null) {
    return `snapshot ${esc(job.lastSnapshot.name)} <span class="muted">(${job.lastSnapshot.datasets} datasets)</span>`;
  }
  return '<span class="muted">nothing yet</span>';
}

/** The daemon's card: one row a job; a row's `data-job` selects that job. */
export function daemonHtml(jobs: readonly DaemonJobJson[], now: number): string {
  if (jobs.length === 0) return '<div class="empty">The daemon runs no jobs.</div>';
  const busy = jobs.filter(isBusy).length;
  let html = `<section class="card daemon-card"><div class="card-head"><h3>Daemon</h3><span class="muted">${jobs.length} jobs · ${busy} busy</span></div>`;
  html +=
    '<table class="jobs"><thead><tr><th>job</th><th>state</th><th>next tick</th><th>last result</th></tr></thead><tbody>';
  for (const j of jobs) {
    html += `<tr data-job="${esc(j.name)}"><td><b>${esc(j.name)}</b> <span class="tag">${esc(j.type)}</span></td><td>${chip(j.state)}</td><td>${nextText(j, now)}</td><td>${lastResultHtml(j)}</td></tr>`;
  }
  return `${html}</tbody></table></section>`;
}

function pruneText(p: PruneSummaryJson | null): string {
  return p === null
    ? '<span class="muted">–</span>'
    : `${p.destroyed} destroyed <span class="muted">(${p.datasets} datasets)</span>`;
}

/** One job's card, above its run's report. */
export function jobCardHtml(job: DaemonJobJson, now: number): string {
  let html = `<section class="card job-card"><div class="card-head"><h3>Job ${esc(job.name)}</h3><span class="tag">${esc(job.type)}</span>${chip(job.state)}</div>`;
  html += kv('cycles', String(job.cycles));
  html += kv('next tick', nextText(job, now));
  if (job.lastSnapshot !== null) {
    html += kv(
      'last snapshot',
      `${esc(job.lastSnapshot.name)} <span class="muted">(${job.lastSnapshot.datasets} datasets, ${formatTime(job.lastSnapshot.time)})</span>`,
    );
  }
  if (job.run !== null)
    html += kv(job.run.finishAt === null ? 'run' : 'last run', runText(job.run));
  if (job.type !== 'sink') {
    html += kv('pruned (sender)', pruneText(job.lastPrune.sender));
    if (job.type === 'push' || job.type === 'pull')
      html += kv('pruned (receiver)', pruneText(job.lastPrune.receiver));
  }
  if (job.serving !== null) {
    html += kv(
      'serving',
      job.serving.url !== null
        ? esc(job.serving.url)
        : `<span class="err-text">${esc(job.serving.error ?? 'not started')}</span>`,
    );
  }
  if (job.lastError !== null) {
    html += `<div class="error-box"><div class="error-head">${esc(job.lastError.during)} failed <span class="time">${formatTime(job.lastError.time)}</span></div><div class="error-text">${esc(job.lastError.err)}</div></div>`;
  }
  return `${html}</section>`;
}

/** The top bar for a daemon: how many jobs, how many at work, how many failing. */
export function daemonSummaryHtml(jobs: readonly DaemonJobJson[]): string {
  const busy = jobs.filter(isBusy).length;
  const failing = jobs.filter((j) => j.state.endsWith('-error')).length;
  const errors = failing > 0 ? `<span class="err-count">${failing} failing</span>` : '';
  return `<span class="chip s-running">daemon</span><span><b>${jobs.length}</b> jobs</span><span><b>${busy}</b> busy</span>${errors}`;
}
