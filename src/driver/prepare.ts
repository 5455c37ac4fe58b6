/**
 * The pure part of attempt planning (D3): correspondence with the previous attempt, name
 * validation and ancestry. Runs inside the `plan` actor, after Planner.plan resolved.
 *
 * Costs are linear: correspondence by `correspondenceKey()` when every fs has one (else the
 * O(n*m) `equalToPreviousAttempt`), ancestry by a walk up each name's prefixes (O(n*depth)).
 * Long loops yield to the event loop every `CHUNK` filesystems so a 100,000-fs plan never
 * blocks progress display, inspection or keepalives.
 */
import type { FS, Step } from './types.js';
import type { PlannedFilesystem, PreparedPlan, PreviousPlan } from '../../machines/types.js';
import { datasetNameProblem } from './names.js';
import { errorMessage } from '../errors/classify.js';

/** What the previous attempt left of one filesystem. */
export interface PreviousFilesystem {
  fs: FS;
  name: string;
  /** Null unless it finished planning without error. */
  steps: Step[] | null;
  currentStep: number;
}

export const CHUNK = 2000;

/** Yields to the event loop between chunks of synchronous work; honours the signal. */
export async function yieldEvery(i: number, signal: AbortSignal): Promise<void> {
  if (i > 0 && i % CHUNK === 0) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    signal.throwIfAborted();
  }
}

function nameOf(fs: FS, index: number): string {
  let name: unknown;
  try {
    name = fs.reportInfo().name;
  } catch (err) {
    throw new Error(`filesystem #${index}: reportInfo() failed: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (typeof name !== 'string') {
    throw new Error(`filesystem #${index}: reportInfo().name is ${typeof name}, not a string`);
  }
  return name;
}

function hasKey(fs: FS): boolean {
  return typeof fs.correspondenceKey === 'function';
}

async function correspondences(
  current: FS[],
  names: string[],
  previous: PreviousFilesystem[],
  signal: AbortSignal,
): Promise<(PreviousFilesystem | undefined)[]> {
  const matches: PreviousFilesystem[][] = [];
  if (current.every(hasKey) && previous.every((p) => hasKey(p.fs))) {
    const byKey = new Map<string, PreviousFilesystem[]>();
    for (let i = 0; i < previous.length; i++) {
      await yieldEvery(i, signal);
      const p = previous[i] as PreviousFilesystem;
      const key = (p.fs.correspondenceKey as () => string).call(p.fs);
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [p]);
      else list.push(p);
    }
    for (let i = 0; i < current.length; i++) {
      await yieldEvery(i, signal);
      const fs = current[i] as FS;
      matches.push(byKey.get((fs.correspondenceKey as () => string).call(fs)) ?? []);
    }
  } else {
    for (let i = 0; i < current.length; i++) {
      await yieldEvery(i, signal);
      const fs = current[i] as FS;
      matches.push(previous.filter((p) => fs.equalToPreviousAttempt(p.fs)));
    }
  }
  const ambiguous = matches
    .map((m, i) => ({ name: names[i] as string, prevs: m }))
    .filter((a) => a.prevs.length > 1)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (ambiguous.length > 0) {
    const lines = ambiguous.map((a) => `  ${a.name} => [${a.prevs.map((p) => p.name).join(', ')}]`);
    throw new Error(
      `cannot determine filesystem correspondences between different attempts:\n${lines.join('\n')}`,
    );
  }
  return matches.map((m) => m[0]);
}

function previousPlan(prev: PreviousFilesystem | undefined): PreviousPlan | undefined {
  if (prev === undefined || prev.steps === null) return undefined;
  return { left: prev.steps.slice(prev.currentStep) };
}

/**
 * Validates what Planner.plan returned and relates it to the previous attempt (D3). Throws the
 * attempt's planning error.
 */
export async function preparePlan(
  planned: unknown,
  previous: PreviousFilesystem[],
  signal: AbortSignal,
): Promise<PreparedPlan> {
  if (!Array.isArray(planned)) {
    const what = planned === null ? 'null' : typeof planned;
    throw new Error(`Planner.plan() resolved to ${what}, not an array of filesystems`);
  }
  const current = planned as FS[];
  const names: string[] = [];
  for (let i = 0; i < current.length; i++) {
    await yieldEvery(i, signal);
    const fs = current[i];
    if (typeof fs !== 'object' || fs === null || typeof fs.planFS !== 'function') {
      throw new Error(`Planner.plan() returned an invalid filesystem at index ${i}`);
    }
    names.push(nameOf(fs, i));
  }

  const prevs = previous.length > 0 ? await correspondences(current, names, previous, signal) : [];

  const indexByName = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    await yieldEvery(i, signal);
    const name = names[i] as string;
    const problem = datasetNameProblem(name);
    if (problem !== undefined)
      throw new Error(`invalid filesystem name ${JSON.stringify(name)}: ${problem}`);
    if (indexByName.has(name)) throw new Error(`duplicate filesystem name ${JSON.stringify(name)}`);
    indexByName.set(name, i);
  }

  const filesystems: PlannedFilesystem[] = [];
  const descendants: number[][] = names.map(() => []);
  for (let i = 0; i < names.length; i++) {
    await yieldEvery(i, signal);
    const name = names[i] as string;
    let ancestors = 0;
    for (let cut = name.lastIndexOf('/'); cut > 0; cut = name.lastIndexOf('/', cut - 1)) {
      const parent = indexByName.get(name.slice(0, cut));
      if (parent !== undefined) {
        ancestors++;
        (descendants[parent] as number[]).push(i);
      }
    }
    filesystems.push({ fs: current[i] as FS, name, previous: previousPlan(prevs[i]), ancestors });
  }
  return { filesystems, descendants };
}

/**
 * D5: keep the new plan up to and including the newest target the previous attempt had left.
 */
export function correlate(steps: Step[], previous: PreviousPlan | undefined): Step[] {
  if (previous === undefined || previous.left.length === 0 || steps.length === 0) return steps;
  for (let p = previous.left.length - 1; p >= 0; p--) {
    const prevStep = previous.left[p] as Step;
    for (let q = steps.length - 1; q >= 0; q--) {
      if (prevStep.targetEquals(steps[q] as Step)) return steps.slice(0, q + 1);
    }
  }
  throw new Error('cannot correlate previously failed attempt to current plan');
}
