/**
 * A light structural check of report and daemon JSON on the page. The server validates every
 * report with the zod `ReportSchema` and every daemon status with `DaemonJobsSchema` before
 * sending it; this only guards the page against a mismatched server or a hand-edited
 * recording. DOM-free.
 */
import type { ReportJson } from './protocol.js';

const RUN_STATES = new Set(['attempting', 'waiting-reconnect', 'done', 'failed', 'cancelled']);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDateOrNull(v: unknown): boolean {
  return v === null || (typeof v === 'string' && !Number.isNaN(Date.parse(v)));
}

function isFs(v: unknown): boolean {
  return (
    isObj(v) &&
    isObj(v.info) &&
    typeof v.info.name === 'string' &&
    typeof v.state === 'string' &&
    typeof v.blockedOn === 'string' &&
    typeof v.currentStep === 'number' &&
    Array.isArray(v.steps) &&
    v.steps.every((s) => isObj(s) && isObj(s.info) && typeof s.info.bytesExpected === 'number')
  );
}

/** The first problem found in a report, or null if it has the report's shape. */
export function reportProblem(v: unknown): string | null {
  if (!isObj(v)) return 'report is not an object';
  if (typeof v.state !== 'string' || !RUN_STATES.has(v.state))
    return `unknown run state ${String(v.state)}`;
  if (!isDateOrNull(v.startAt) || v.startAt === null) return 'startAt is not a date';
  if (!isDateOrNull(v.finishAt)) return 'finishAt is not a date';
  if (!Array.isArray(v.attempts)) return 'attempts is not an array';
  for (const [i, a] of v.attempts.entries()) {
    if (!isObj(a) || typeof a.state !== 'string' || !Array.isArray(a.filesystems))
      return `attempt ${i} is malformed`;
    const bad = a.filesystems.findIndex((f) => !isFs(f));
    if (bad >= 0) return `attempt ${i}, filesystem ${bad} is malformed`;
  }
  return null;
}

/** True if `v` has the shape of a report. */
export function isReportJson(v: unknown): v is ReportJson {
  return reportProblem(v) === null;
}

const JOB_FIELDS = ['name', 'type', 'state'] as const;

/** The first problem found in a daemon message's jobs, or null if they have its shape. */
export function daemonProblem(v: unknown): string | null {
  if (!Array.isArray(v)) return 'jobs is not an array';
  for (const [i, job] of v.entries()) {
    if (!isObj(job)) return `job ${i} is not an object`;
    for (const key of JOB_FIELDS) {
      if (typeof job[key] !== 'string') return `job ${i} has no ${key}`;
    }
    if (typeof job.cycles !== 'number') return `job ${String(job.name)}: cycles is not a number`;
    if (!isDateOrNull(job.nextTick)) return `job ${String(job.name)}: nextTick is not a date`;
    if (!isObj(job.lastPrune)) return `job ${String(job.name)}: lastPrune is not an object`;
    if (job.run !== null && !(isObj(job.run) && typeof job.run.state === 'string'))
      return `job ${String(job.name)}: run is malformed`;
    if (job.lastError !== null && !(isObj(job.lastError) && typeof job.lastError.err === 'string'))
      return `job ${String(job.name)}: lastError is malformed`;
  }
  return null;
}
