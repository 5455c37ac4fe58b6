/**
 * Consistency of one report (D11), and of successive reports of one run. Each check returns
 * the problems it found as sentences, so a property can show all of them at once.
 */
import { ReportSchema, type Report } from '../../src/index.js';

type AttemptReport = Report['attempts'][number];
type FilesystemReport = AttemptReport['filesystems'][number];

const TERMINAL_FS = new Set(['planning-error', 'step-error', 'done']);
const TERMINAL_ATTEMPT = new Set(['planning-error', 'filesystem-error', 'done']);
const TERMINAL_RUN = new Set(['done', 'failed', 'cancelled']);

export const isTerminalRun = (state: string): boolean => TERMINAL_RUN.has(state);

export interface ReportLimits {
  maxAttempts: number;
  reconnectHardFailTimeoutMs: number;
}

/** Everything that must hold of a single report, whenever it is taken. */
export function reportProblems(report: Report, limits: ReportLimits, parse: boolean): string[] {
  const problems: string[] = [];
  if (parse) {
    for (const [form, value] of [
      ['report', report],
      ['JSON', JSON.parse(JSON.stringify(report)) as unknown],
    ] as const) {
      const parsed = ReportSchema.safeParse(value);
      if (!parsed.success)
        problems.push(`ReportSchema rejects the ${form}: ${parsed.error.message}`);
    }
  }
  report.attempts.forEach((attempt, a) => {
    const here = `attempt ${a}`;
    problems.push(...attemptProblems(attempt, here));
    if (a < report.attempts.length - 1) {
      if (!TERMINAL_ATTEMPT.has(attempt.state))
        problems.push(`${here} is ${attempt.state} but not the last`);
      if (attempt.state === 'done') problems.push(`${here} is done but another attempt followed`);
    }
  });
  problems.push(...runProblems(report, limits));
  return problems;
}

function runProblems(report: Report, limits: ReportLimits): string[] {
  const problems: string[] = [];
  const { state } = report;
  const last = report.attempts[report.attempts.length - 1];
  const ended = isTerminalRun(state);
  if (ended !== (report.finishAt !== null))
    problems.push(`run ${state} with finishAt ${String(report.finishAt)}`);
  if (report.finishAt !== null && report.finishAt < report.startAt)
    problems.push('run finishAt before startAt');
  if (limits.maxAttempts !== -1 && report.attempts.length > limits.maxAttempts) {
    problems.push(`${report.attempts.length} attempts with maxAttempts ${limits.maxAttempts}`);
  }
  if ((report.waitReconnectSince === null) !== (report.waitReconnectUntil === null)) {
    problems.push('only one of waitReconnectSince and waitReconnectUntil is set');
  }
  if (report.waitReconnectSince !== null && report.waitReconnectUntil !== null) {
    const window = report.waitReconnectUntil.getTime() - report.waitReconnectSince.getTime();
    if (window !== limits.reconnectHardFailTimeoutMs)
      problems.push(`reconnect window of ${window} ms`);
  }
  switch (state) {
    case 'attempting':
      if (last === undefined) problems.push('run attempting without an attempt');
      else if (TERMINAL_ATTEMPT.has(last.state))
        problems.push(`run attempting but its last attempt is ${last.state}`);
      if (report.waitReconnectError !== null)
        problems.push('run attempting with a waitReconnectError');
      break;
    case 'waiting-reconnect':
      if (last === undefined || !TERMINAL_ATTEMPT.has(last.state) || last.state === 'done') {
        problems.push(
          `run waiting for reconnect after an attempt that is ${last?.state ?? 'missing'}`,
        );
      }
      if (report.waitReconnectSince === null)
        problems.push('run waiting for reconnect without waitReconnectSince');
      if (report.waitReconnectError !== null)
        problems.push('run waiting for reconnect with a waitReconnectError');
      break;
    case 'done':
      if (last?.state !== 'done')
        problems.push(`run done but its last attempt is ${last?.state ?? 'missing'}`);
      if (report.waitReconnectError !== null) problems.push('run done with a waitReconnectError');
      break;
    case 'failed':
      if (last === undefined || !TERMINAL_ATTEMPT.has(last.state) || last.state === 'done') {
        problems.push(`run failed after an attempt that is ${last?.state ?? 'missing'}`);
      }
      break;
    case 'cancelled':
      if (last !== undefined && !TERMINAL_ATTEMPT.has(last.state))
        problems.push(`run cancelled, attempt ${last.state}`);
      break;
  }
  return problems;
}

function attemptProblems(attempt: AttemptReport, here: string): string[] {
  const problems: string[] = [];
  const fss = attempt.filesystems;
  const ended = TERMINAL_ATTEMPT.has(attempt.state);
  if (ended !== (attempt.finishAt !== null))
    problems.push(`${here} ${attempt.state} with finishAt ${String(attempt.finishAt)}`);
  if (attempt.finishAt !== null && attempt.finishAt < attempt.startAt)
    problems.push(`${here} finishAt before startAt`);
  if ((attempt.planError !== null) !== (attempt.state === 'planning-error')) {
    problems.push(
      `${here} is ${attempt.state} with planError ${JSON.stringify(attempt.planError?.err ?? null)}`,
    );
  }
  const unfinished = fss.filter((f) => !TERMINAL_FS.has(f.state)).length;
  const failed = fss.filter((f) => f.planError !== null || f.stepError !== null).length;
  switch (attempt.state) {
    case 'planning':
    case 'planning-error':
      if (fss.length > 0)
        problems.push(`${here} is ${attempt.state} with ${fss.length} filesystems`);
      break;
    case 'fan-out-filesystems':
      if (unfinished === 0) problems.push(`${here} fans out but every filesystem has ended`);
      break;
    case 'filesystem-error':
      if (unfinished > 0 || failed === 0)
        problems.push(`${here} filesystem-error: ${unfinished} unfinished, ${failed} failed`);
      break;
    case 'done':
      if (fss.some((f) => f.state !== 'done'))
        problems.push(`${here} done with a filesystem not done`);
      break;
  }
  fss.forEach((fs) => problems.push(...filesystemProblems(fs, `${here} ${fs.info.name}`)));
  return problems;
}

function filesystemProblems(fs: FilesystemReport, here: string): string[] {
  const problems: string[] = [];
  const { state, blockedOn, currentStep } = fs;
  const n = fs.steps.length;
  const say = (what: string): void => {
    problems.push(
      `${here}: ${what} (state ${state}, blockedOn ${blockedOn}, step ${currentStep}/${n})`,
    );
  };
  if ((fs.planError !== null) !== (state === 'planning-error')) say('planError iff planning-error');
  if ((fs.stepError !== null) !== (state === 'step-error')) say('stepError iff step-error');
  if (TERMINAL_FS.has(state) && blockedOn !== 'nothing') say('blocked after it stopped');
  if (currentStep > n) say('currentStep beyond the steps');
  if ((fs.retryAt !== null) !== (state === 'retry-wait')) say('retryAt iff retry-wait');
  if ((fs.retryError !== null) !== fs.replans + fs.retries > 0)
    say('retryError iff it re-planned or retried');
  switch (state) {
    case 'planning':
      if (n > 0 || currentStep > 0) say('steps while planning');
      if (blockedOn !== 'nothing' && blockedOn !== 'plan-queue')
        say('planning blocked on something else');
      break;
    case 'planning-error':
      if (n > 0 || currentStep > 0) say('steps after a planning error');
      break;
    case 'stepping':
      if (blockedOn === 'plan-queue') say('stepping blocked on the plan queue');
      if (blockedOn === 'parent-initial-repl' && currentStep > 0)
        say('waits for parents after a step');
      if (currentStep === n && !(n === 0 && blockedOn === 'parent-initial-repl'))
        say('stepping with no step left');
      break;
    case 'done':
      if (currentStep !== n) say('done with steps left');
      break;
    case 'retry-wait':
      if (n > 0 || currentStep > 0) say('steps while waiting to retry');
      if (blockedOn !== 'retry-backoff') say('retry-wait not blocked on retry-backoff');
      if (fs.retries === 0) say('retry-wait without a retry');
      break;
  }
  fs.steps.forEach((s, i) => {
    const { bytesReplicated } = s.info;
    if (i < currentStep && bytesReplicated !== s.info.bytesExpected)
      say(`completed step ${i} not fully replicated`);
  });
  return problems;
}

/** What must hold between an earlier and a later report of the same run. */
export function progressProblems(before: Report, after: Report): string[] {
  const problems: string[] = [];
  if (isTerminalRun(before.state) && after.state !== before.state) {
    problems.push(`run went from ${before.state} to ${after.state}`);
  }
  if (after.attempts.length < before.attempts.length) problems.push('attempts disappeared');
  before.attempts.forEach((earlier, a) => {
    const later = after.attempts[a] as AttemptReport;
    if (TERMINAL_ATTEMPT.has(earlier.state) && later.state !== earlier.state) {
      problems.push(`attempt ${a} went from ${earlier.state} to ${later.state}`);
    }
    if (later.filesystems.length < earlier.filesystems.length)
      problems.push(`attempt ${a} lost filesystems`);
    earlier.filesystems.forEach((e, i) => {
      const l = later.filesystems[i] as FilesystemReport;
      const here = `attempt ${a} ${e.info.name}`;
      if (l.info.name !== e.info.name) problems.push(`${here} renamed to ${l.info.name}`);
      if (TERMINAL_FS.has(e.state) && l.state !== e.state)
        problems.push(`${here} went from ${e.state} to ${l.state}`);
      if (l.replans < e.replans || l.retries < e.retries) problems.push(`${here} counts went back`);
      // Planning again (D13, D14) starts afresh; otherwise progress only moves on.
      const plannedAgain = l.replans + l.retries > e.replans + e.retries;
      if (!plannedAgain && l.currentStep < e.currentStep)
        problems.push(`${here} currentStep went back`);
      if (!plannedAgain && e.state !== 'planning' && l.steps.length !== e.steps.length)
        problems.push(`${here} steps changed after planning`);
    });
  });
  return problems;
}
