/**
 * fast-check parameters for the property suite. Runs are seeded as fast-check does by default
 * (a failure prints its seed and path); `FC_SEED` (and `FC_PATH`) pin a run to reproduce it,
 * `FC_RUNS` scales every numRuns (e.g. `FC_RUNS=10` for a long soak).
 */
import type fc from 'fast-check';

export function fcParameters<T>(numRuns: number): fc.Parameters<T> {
  const { FC_SEED, FC_PATH, FC_RUNS } = process.env;
  const scale = FC_RUNS === undefined ? 1 : Number(FC_RUNS);
  return {
    numRuns: Math.max(1, Math.round(numRuns * scale)),
    ...(FC_SEED !== undefined && { seed: Number(FC_SEED) }),
    ...(FC_PATH !== undefined && { path: FC_PATH }),
  };
}

/**
 * The host's `process`. Jest runs a test file in a vm context with a copy of `process` whose
 * events never fire; a function made by the outer realm's Function constructor sees the real one.
 */
export function hostProcess(): NodeJS.Process {
  const OuterFunction = setImmediate.constructor as FunctionConstructor;
  return OuterFunction('return process')() as NodeJS.Process;
}
