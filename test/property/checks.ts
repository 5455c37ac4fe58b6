/**
 * The invariants of a finished scenario, read from its trace. Each returns the problems it
 * found as sentences (empty when the invariant holds).
 */
import type { Trace } from './harness.js';
import { admissionOrder, type ModelFilesystem } from './queue-model.js';
import { callName, failureKey, type CallRecord } from './world.js';

const isSlotCall = (c: CallRecord): boolean => c.kind === 'planFS' || c.kind === 'step';
const label = (c: CallRecord): string =>
  c.kind === 'step' ? `${c.fs}@${c.step?.to}` : `planFS:${c.fs}`;

function attemptCalls(trace: Trace, attempt: number): CallRecord[] {
  return trace.world.log.filter((c) => c.attempt === attempt && isSlotCall(c));
}

/** Ancestors by path prefix, component-wise: `pool/a` is an ancestor of `pool/a/b`, not of `pool/ab`. */
export function ancestorsIn(names: readonly string[], name: string): string[] {
  const all = new Set(names);
  const parts = name.split('/');
  const found: string[] = [];
  for (let k = 1; k < parts.length; k++) {
    const candidate = parts.slice(0, k).join('/');
    if (all.has(candidate)) found.push(candidate);
  }
  return found;
}

/** D4, D8: never more plannings and steps at once than stepQueueConcurrency. */
export function concurrencyProblems(trace: Trace): string[] {
  const { maxRunning } = trace.world;
  const limit = trace.scenario.concurrency;
  return maxRunning > limit
    ? [`${maxRunning} plannings and steps ran at once, concurrency ${limit}`]
    : [];
}

/** D7: one planning per filesystem, then its steps in plan order, each after the previous one succeeded. */
export function stepOrderProblems(trace: Trace): string[] {
  const problems: string[] = [];
  trace.final.attempts.forEach((attempt, a) => {
    const calls = attemptCalls(trace, a);
    for (const fs of attempt.filesystems) {
      const name = fs.info.name;
      const plannings = calls.filter((c) => c.kind === 'planFS' && c.fs === name);
      const steps = calls.filter((c) => c.kind === 'step' && c.fs === name);
      if (plannings.length > 1)
        problems.push(`attempt ${a} ${name}: planned ${plannings.length} times`);
      if (steps.length === 0) continue;
      const planning = plannings[0];
      if (
        planning === undefined ||
        planning.outcome !== 'resolved' ||
        (planning.settledAt ?? Infinity) > steps[0]!.startedAt
      ) {
        problems.push(`attempt ${a} ${name}: a step started before its planning succeeded`);
      }
      const planned = fs.steps.map((s) => s.info.to);
      const ran = steps.map((s) => s.step?.to);
      if (ran.some((to, i) => to !== planned[i])) {
        problems.push(
          `attempt ${a} ${name}: ran [${ran.join(' ')}], planned [${planned.join(' ')}]`,
        );
      }
      for (let i = 1; i < steps.length; i++) {
        const prev = steps[i - 1]!;
        if (prev.outcome !== 'resolved' || (prev.settledAt ?? Infinity) > steps[i]!.startedAt) {
          problems.push(
            `attempt ${a} ${callName(steps[i]!)} started before ${callName(prev)} succeeded`,
          );
        }
      }
    }
  });
  return problems;
}

/** D6: an initial step starts only once every ancestor is present on the receiver. */
export function parentProblems(trace: Trace): string[] {
  const problems: string[] = [];
  const names = trace.scenario.world.filesystems.map((f) => f.name);
  const log = trace.world.log;
  for (const call of log) {
    if (call.kind !== 'step' || call.step?.from !== '') continue;
    for (const parent of ancestorsIn(names, call.fs as string)) {
      const mine = log.filter(
        (c) =>
          c.attempt === call.attempt &&
          c.fs === parent &&
          c.outcome === 'resolved' &&
          (c.settledAt as number) < call.startedAt,
      );
      const present = mine.some(
        (c) =>
          c.kind === 'step' ||
          (c.kind === 'planFS' && (c.planned?.length === 0 || (c.planned?.[0]?.from ?? '') !== '')),
      );
      if (!present)
        problems.push(`${callName(call)} started before its ancestor ${parent} was present`);
    }
  }
  return problems;
}

/** D8 at concurrency 1: admissions exactly as the reference model orders them (a prefix, if cancelled). */
export function admissionOrderProblems(trace: Trace): string[] {
  const problems: string[] = [];
  const { world } = trace;
  const cancelled = trace.cancelledWhileRunning;
  trace.final.attempts.forEach((attempt, a) => {
    const actual = attemptCalls(trace, a).map(label);
    const model: ModelFilesystem[] = attempt.filesystems.map((fs) => ({
      name: fs.info.name,
      steps:
        fs.planError !== null
          ? null
          : fs.steps.map(({ info }) => ({
              from: info.from,
              to: info.to,
              date: world.dateOf(fs.info.name, info.to),
              fails: world.spec.failures.has(failureKey(a, 'step', fs.info.name, info.to)),
            })),
    }));
    const expected = admissionOrder(model);
    const compared = cancelled ? expected.slice(0, actual.length) : expected;
    if (actual.join(' ') !== compared.join(' ')) {
      const at = actual.findIndex((l, i) => l !== compared[i]);
      problems.push(
        `attempt ${a}: admissions differ from the model at ${at === -1 ? actual.length : at}:\n` +
          `  driver: ${actual.join(' ')}\n  model:  ${compared.join(' ')}`,
      );
    }
  });
  return problems;
}

/** D2, D10, D12: wait() resolves with a terminal state; cancelled runs end cancelled; nothing left running. */
export function terminationProblems(trace: Trace): string[] {
  const problems: string[] = [...trace.endProblems];
  if (!trace.ended) problems.push(`wait() did not resolve; run ${trace.final.state}`);
  const { state } = trace.final;
  if (!['done', 'failed', 'cancelled'].includes(state)) problems.push(`run ended ${state}`);
  if (trace.cancelledWhileRunning && state !== 'cancelled')
    problems.push(`cancelled while running, ended ${state}`);
  if (!trace.cancelledWhileRunning && state === 'cancelled')
    problems.push('ended cancelled, never cancelled');
  // Also when the abort happens inside a planner call (regressions.test.ts, D10).
  for (const c of trace.world.startedAfterCancel) problems.push(`${c} started after cancellation`);
  return problems;
}

/** D5 as the spec says it: the new plan up to and including the newest target left over. */
export function correlate(plan: string[], left: string[]): string[] | 'cannot correlate' {
  if (left.length === 0 || plan.length === 0) return plan;
  for (let p = left.length - 1; p >= 0; p--) {
    for (let q = plan.length - 1; q >= 0; q--) if (left[p] === plan[q]) return plan.slice(0, q + 1);
  }
  return 'cannot correlate';
}

/** D5: retried filesystems plan as the spec's correlation says and never repeat a completed step. */
export function retryProblems(trace: Trace): string[] {
  const problems: string[] = [...trace.world.receiverMismatches];
  const log = trace.world.log;
  const completed = new Set<string>();
  for (const c of log) {
    if (c.kind !== 'step' || c.outcome !== 'resolved') continue;
    const key = `${c.fs}@${c.step?.to}`;
    if (completed.has(key)) problems.push(`${callName(c)} completed a second time`);
    completed.add(key);
  }
  const { attempts } = trace.final;
  attempts.forEach((attempt, a) => {
    attempt.filesystems.forEach((fs, i) => {
      const name = fs.info.name;
      const planning = log.find((c) => c.attempt === a && c.kind === 'planFS' && c.fs === name);
      if (planning?.outcome !== 'resolved' || planning.planned === undefined) return;
      const prev = a > 0 ? attempts[a - 1]?.filesystems[i] : undefined;
      const left =
        prev !== undefined && prev.planError === null && prev.state !== 'planning'
          ? prev.steps.slice(prev.currentStep).map((s) => s.info.to)
          : [];
      const expected = correlate(
        planning.planned.map((s) => s.to),
        left,
      );
      const actual = fs.planError !== null ? fs.planError.err : fs.steps.map((s) => s.info.to);
      const want =
        expected === 'cannot correlate'
          ? 'cannot correlate previously failed attempt to current plan'
          : expected;
      if (JSON.stringify(actual) !== JSON.stringify(want)) {
        problems.push(
          `attempt ${a} ${name}: planned [${planning.planned.map((s) => s.to).join(' ')}], ` +
            `left over [${left.join(' ')}]: driver has ${JSON.stringify(actual)}, D5 says ${JSON.stringify(want)}`,
        );
      }
    });
  });
  return problems;
}

/**
 * D13, D14: counts within their limits, one planning per filesystem and attempt plus one per
 * re-plan or retry, and a completed step never repeated.
 */
export function healingProblems(trace: Trace): string[] {
  const problems: string[] = [...trace.world.receiverMismatches];
  const healing = trace.scenario.healing;
  const replanLimit = healing?.replanLimit ?? 0;
  const retries = healing?.filesystemRetries ?? 0;
  const completed = new Set<string>();
  for (const c of trace.world.log) {
    if (c.kind !== 'step' || c.outcome !== 'resolved') continue;
    const key = `${c.fs}@${c.step?.to}`;
    if (completed.has(key)) problems.push(`${callName(c)} completed a second time`);
    completed.add(key);
  }
  trace.final.attempts.forEach((attempt, a) => {
    const calls = attemptCalls(trace, a);
    for (const fs of attempt.filesystems) {
      const here = `attempt ${a} ${fs.info.name}`;
      if (fs.replans > replanLimit) problems.push(`${here}: ${fs.replans} re-plans`);
      if (fs.retries > retries) problems.push(`${here}: ${fs.retries} retries`);
      const plannings = calls.filter((c) => c.kind === 'planFS' && c.fs === fs.info.name).length;
      if (plannings > 1 + fs.replans + fs.retries)
        problems.push(`${here}: planned ${plannings} times, ${fs.replans + fs.retries} healed`);
      if (fs.state === 'retry-wait') problems.push(`${here}: still waiting to retry at the end`);
    }
  });
  return problems;
}

/** D2 with only temporary failures: done, unless the attempts ran out. */
export function temporaryOnlyProblems(trace: Trace): string[] {
  const { maxAttempts, world } = trace.scenario;
  const lastFailing = Math.max(
    -1,
    ...[...world.failures.keys()].map((k) => Number(k.split(':')[0])),
  );
  const { state, attempts } = trace.final;
  if (maxAttempts === -1 || maxAttempts >= lastFailing + 2) {
    return state === 'done'
      ? []
      : [`ended ${state} after ${attempts.length} attempts; failures up to attempt ${lastFailing}`];
  }
  if (state === 'done' || (state === 'failed' && attempts.length === maxAttempts)) return [];
  return [`ended ${state} after ${attempts.length} of ${maxAttempts} attempts`];
}
