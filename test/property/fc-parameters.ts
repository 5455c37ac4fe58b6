/**
 * fast-check parameters for the property and differential suites.
 *
 * Runs are reproducible: unless `FC_SEED` says otherwise every suite runs with the committed
 * DEFAULT_SEED, so `npm test` and CI see the same scenarios every time. A failure prints its
 * seed and path (fast-check's report: `{ seed: …, path: "…" }`); `FC_SEED=<seed> FC_PATH=<path>`
 * replays exactly that counterexample. `FC_SEED=random` lets fast-check draw a seed per suite
 * (printed on failure), and `FC_RUNS` scales every numRuns: `npm run test:deep` does both.
 * test/setup/fast-check.ts applies the same seed to every `fc.assert` that does not set one.
 */
import type fc from 'fast-check';

/** The seed of `npm test` and CI. Change it only on purpose: the suites' scenarios follow it. */
export const DEFAULT_SEED = 1_217_017;

/** The seed to run with: FC_SEED, DEFAULT_SEED when unset, undefined for `FC_SEED=random`. */
export function fcSeed(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const { FC_SEED } = env;
  if (FC_SEED === undefined || FC_SEED === '') return DEFAULT_SEED;
  if (FC_SEED === 'random') return undefined;
  const seed = Number(FC_SEED);
  if (!Number.isInteger(seed)) {
    throw new Error(`FC_SEED must be an integer or "random", not ${JSON.stringify(FC_SEED)}`);
  }
  return seed;
}

/** How much FC_RUNS scales every numRuns (default 1). */
export function fcRunsScale(env: NodeJS.ProcessEnv = process.env): number {
  const { FC_RUNS } = env;
  if (FC_RUNS === undefined || FC_RUNS === '') return 1;
  const scale = Number(FC_RUNS);
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new Error(`FC_RUNS must be a positive number, not ${JSON.stringify(FC_RUNS)}`);
  }
  return scale;
}

export function fcParameters<T>(numRuns: number): fc.Parameters<T> {
  const seed = fcSeed();
  const { FC_PATH } = process.env;
  return {
    numRuns: Math.max(1, Math.round(numRuns * fcRunsScale())),
    ...(seed !== undefined && { seed }),
    ...(FC_PATH !== undefined && FC_PATH !== '' && { path: FC_PATH }),
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
