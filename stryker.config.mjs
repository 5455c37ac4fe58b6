// Mutation testing of the charts and the driver (docs/mutation.md): `npm run mutate`.
// Slow (docs/mutation.md gives the duration), so not part of `npm test` or CI.
//
// MUTATE (comma-separated files or globs) narrows the run; each selection keeps its own
// report and incremental file under reports/mutation/, so scripts/mutate.sh can run the
// folders piece by piece and sum the scores (scripts/mutation-score.mjs).
const selection = process.env.MUTATE ?? '';
const mutate = selection === '' ? ['machines/**/*.ts', 'src/driver/**/*.ts'] : selection.split(',');
const slug =
  selection === '' ? 'all' : selection.replace(/\.ts/g, '').replace(/[^A-Za-z0-9]+/g, '-');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate,
  testRunner: 'jest',
  jest: { configFile: 'stryker.jest.config.cjs', enableFindRelatedTests: false },
  // Each mutant runs only the tests that cover it, and stops at the first that fails.
  coverageAnalysis: 'perTest',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  // One TypeScript checker and two test runners: the two cores stay busy.
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 3),
  // Only mutants whose code or tests changed run again; the rest come from this file.
  incremental: true,
  incrementalFile: `reports/mutation/${slug}.incremental.json`,
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'coverage', 'artifacts', 'reports', 'bench/results', '*.log'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${slug}.html` },
  jsonReporter: { fileName: `reports/mutation/${slug}.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  // A mutant that makes a loop run forever is detected by this timeout (on top of the test's
  // own time times timeoutFactor).
  timeoutMS: 8000,
  thresholds: { high: 90, low: 85, break: null },
};
