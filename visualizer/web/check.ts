/**
 * A light structural check of report JSON on the page. The server validates every report
 * with the zod `ReportSchema` before sending it; this only guards the page against a
 * mismatched server or a hand-edited recording. DOM-free.
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
