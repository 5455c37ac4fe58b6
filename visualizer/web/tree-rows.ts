/**
 * The actor tree as flat rows: run -> attempts -> filesystems, or daemon -> jobs -> each
 * job's current run -> ... (any other machine actors nest under their parent the same way),
 * with each row's state, blockedOn, step i/n, bytes, error and, for a job, its type and next
 * tick, filtered by name and state. DOM-free, so it is tested in Node.
 */
import {
  actorLabel,
  blockedOnOf,
  contextOf,
  topState,
  type ActorState,
  type ModelState,
} from './model.js';
import type { DaemonJobJson, FilesystemReportJson, Json, ReportJson } from './protocol.js';
import { valueText } from './format.js';

export type StateFilter =
  'all' | 'active' | 'errors' | 'planning' | 'stepping' | 'waiting' | 'done';

export interface TreeFilter {
  text: string;
  state: StateFilter;
}

export interface TreeRow {
  kind: 'daemon' | 'job' | 'run' | 'attempt' | 'fs' | 'actor';
  sessionId: string;
  depth: number;
  label: string;
  /** Top-level state, e.g. `stepping`. */
  state: string;
  /** Full state value, e.g. `stepping.waiting-for-slot`. */
  value: string;
  status: string;
  blockedOn: string;
  step: { current: number; total: number } | null;
  bytes: { done: number; total: number } | null;
  error: { err: string; time: string } | null;
  /** A daemon job: its type (push, snap, ...) and next tick (ISO, null without a schedule). */
  job: { type: string; nextTick: string | null } | null;
  childCount: number;
  collapsed: boolean;
}

export interface TreeRows {
  rows: TreeRow[];
  /** Filesystem rows shown / in total. */
  shown: number;
  total: number;
}

function num(v: Json | undefined, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

function timedError(v: Json | undefined): { err: string; time: string } | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  return typeof v.err === 'string'
    ? { err: v.err, time: typeof v.time === 'string' ? v.time : '' }
    : null;
}

/** The report entry of a filesystem actor, found by its attempt number and index. */
export function fsReportOf(
  report: ReportJson | null,
  attempt: number,
  index: number,
): FilesystemReportJson | null {
  return report?.attempts[attempt]?.filesystems[index] ?? null;
}

/** Bytes replicated / expected over the steps of a filesystem report. */
export function bytesOf(fs: FilesystemReportJson): { done: number; total: number } {
  let done = 0;
  let total = 0;
  for (const s of fs.steps) {
    done += s.info.bytesReplicated;
    total += s.info.bytesExpected;
  }
  return { done, total };
}

const FINAL_FS = new Set(['done', 'planning-error', 'step-error']);

function matches(row: TreeRow, filter: TreeFilter, text: string): boolean {
  if (text !== '' && !row.label.toLowerCase().includes(text)) return false;
  switch (filter.state) {
    case 'all':
      return true;
    case 'active':
      return !FINAL_FS.has(row.state) && row.status === 'active';
    case 'errors':
      return row.error !== null || row.state.endsWith('-error');
    case 'waiting':
      return row.blockedOn !== 'nothing';
    default:
      return row.state === filter.state;
  }
}

/** Children of each actor (machine actors only), in a stable order. */
export function childrenByParent(model: ModelState): Map<string | undefined, ActorState[]> {
  const out = new Map<string | undefined, ActorState[]>();
  for (const a of model.actors.values()) {
    if (a.machine === null) continue;
    const parent =
      a.parentId !== undefined && model.actors.has(a.parentId) ? a.parentId : undefined;
    const list = out.get(parent) ?? [];
    list.push(a);
    out.set(parent, list);
  }
  const key = (a: ActorState): number => {
    const c = contextOf(a);
    return num(c.index, num(c.number, Number.MAX_SAFE_INTEGER));
  };
  for (const list of out.values())
    list.sort((a, b) => key(a) - key(b) || (a.createdAt < b.createdAt ? -1 : 1));
  return out;
}

/**
 * The rows to show. Run and attempt rows always show (with their filesystem counts);
 * filesystem rows show when they match the filter; collapsed rows hide their subtree.
 */
export function treeRows(
  model: ModelState,
  filter: TreeFilter,
  collapsed: ReadonlySet<string>,
): TreeRows {
  const children = childrenByParent(model);
  const jobs = new Map<string, DaemonJobJson>((model.daemon ?? []).map((j) => [j.name, j]));
  const text = filter.text.trim().toLowerCase();
  const rows: TreeRow[] = [];
  let shown = 0;
  let total = 0;

  const rowOf = (
    a: ActorState,
    depth: number,
    attemptNo: number,
    report: ReportJson | null,
  ): TreeRow => {
    const c = contextOf(a);
    const kids = children.get(a.sessionId) ?? [];
    const base: TreeRow = {
      kind: 'actor',
      sessionId: a.sessionId,
      depth,
      label: a.name,
      state: topState(a.snapshot.value),
      value: valueText(a.snapshot.value),
      status: a.snapshot.status,
      blockedOn: 'nothing',
      step: null,
      bytes: null,
      error: null,
      job: null,
      childCount: kids.length,
      collapsed: collapsed.has(a.sessionId),
    };
    switch (a.machine) {
      case 'daemon':
        return { ...base, kind: 'daemon' };
      case 'job': {
        const status = typeof c.name === 'string' ? jobs.get(c.name) : undefined;
        return {
          ...base,
          kind: 'job',
          label: actorLabel(a),
          error: timedError(c.lastError),
          job: {
            type: status?.type ?? (typeof c.kind === 'string' ? c.kind : ''),
            nextTick: status?.nextTick ?? null,
          },
        };
      }
      case 'run':
        return {
          ...base,
          kind: 'run',
          label: actorLabel(a),
          error: timedError(c.waitReconnectError),
        };
      case 'attempt':
        return { ...base, kind: 'attempt', label: actorLabel(a), error: timedError(c.planError) };
      case 'filesystem': {
        const fs = fsReportOf(report, attemptNo, num(c.index, -1));
        const steps = Array.isArray(c.steps) ? c.steps.length : null;
        return {
          ...base,
          kind: 'fs',
          label: actorLabel(a),
          blockedOn: blockedOnOf(a.snapshot),
          step:
            steps !== null
              ? { current: num(c.currentStep, 0), total: fs?.steps.length ?? steps }
              : null,
          bytes: fs !== null && fs.steps.length > 0 ? bytesOf(fs) : null,
          error: timedError(c.planError) ?? timedError(c.stepError),
        };
      }
      default:
        return base;
    }
  };

  const visit = (
    a: ActorState,
    depth: number,
    attemptNo: number,
    report: ReportJson | null,
  ): void => {
    const row = rowOf(a, depth, attemptNo, report);
    if (row.kind === 'fs') {
      total++;
      if (!matches(row, filter, text)) return;
      shown++;
    }
    rows.push(row);
    const kids = children.get(a.sessionId) ?? [];
    const nextAttempt = a.machine === 'attempt' ? num(contextOf(a).number, attemptNo) : attemptNo;
    // Below a daemon's job, its run's filesystems read that job's report.
    const name = contextOf(a).name;
    const below =
      a.machine === 'job'
        ? ((typeof name === 'string' ? model.jobReports.get(name)?.report : undefined) ?? null)
        : report;
    if (row.collapsed) {
      for (const k of kids) if (k.machine === 'filesystem') total++;
      return;
    }
    for (const k of kids) visit(k, depth + 1, nextAttempt, below);
  };
  for (const root of children.get(undefined) ?? []) visit(root, 0, 0, model.report);
  return { rows, shown, total };
}
