// Mutation testing of the charts and the driver (docs/mutation.md): `npm run mutate`
// (scripts/mutate.sh). Slow (docs/mutation.md gives the duration), so not part of `npm test`
// or CI.
//
// MUTATE (comma-separated files, globs or `file:line-line` ranges) narrows the run;
// MUTATION_TESTS picks the tests: `rules` or `jobs` (the quick rule tests of the driver or of
// the jobs, stryker.rules.jest.config.cjs) or `all` (every suite that exercises these folders,
// stryker.jest.config.cjs, the default).
// Each run keeps its report and incremental file under reports/mutation/<tests>/, named
// MUTATION_REPORT (scripts/mutate.sh names each group's), else `all`.
const selection = process.env.MUTATE ?? '';
const tests = process.env.MUTATION_TESTS ?? 'all';
if (!['rules', 'jobs', 'all'].includes(tests)) {
  throw new Error(`MUTATION_TESTS must be "rules", "jobs" or "all", not ${JSON.stringify(tests)}`);
}
const mutate = selection === '' ? ['machines/**/*.ts', 'src/driver/**/*.ts'] : selection.split(',');
const name = process.env.MUTATION_REPORT ?? 'all';
const reports = `reports/mutation/${tests}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate,
  testRunner: 'jest',
  jest: {
    configFile: tests === 'all' ? 'stryker.jest.config.cjs' : 'stryker.rules.jest.config.cjs',
    enableFindRelatedTests: false,
  },
  // Each mutant runs only the tests that cover it (jest cannot stop at the first failure).
  coverageAnalysis: 'perTest',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  // One TypeScript checker and two test runners: the two cores stay busy.
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 3),
  // Only mutants whose code or tests changed run again; the rest come from this file.
  incremental: true,
  incrementalFile: `${reports}/${name}.incremental.json`,
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'coverage', 'artifacts', 'reports', 'bench/results', '*.log'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${reports}/${name}.html` },
  jsonReporter: { fileName: `${reports}/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  // A mutant that makes a loop run forever is detected by this timeout (on top of the tests'
  // own time times timeoutFactor).
  timeoutMS: 2500,
  timeoutFactor: 1.25,
  thresholds: { high: 90, low: 85, break: null },
};
