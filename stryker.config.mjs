// Mutation testing of the charts and the driver (docs/mutation.md): `npm run mutate`.
// Slow (see docs/mutation.md for the duration), so not part of `npm test` or CI.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['machines/**/*.ts', 'src/driver/**/*.ts'],
  testRunner: 'jest',
  jest: { configFile: 'stryker.jest.config.cjs', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  // The machine's two cores are shared.
  concurrency: 2,
  // Only mutants whose code or tests changed run again; the rest come from this file.
  incremental: true,
  incrementalFile: 'stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'coverage', 'artifacts', 'reports', 'bench/results', '*.log'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  timeoutMS: 20000,
  thresholds: { high: 90, low: 85, break: null },
};
