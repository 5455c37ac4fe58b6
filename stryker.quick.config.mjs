// The quick mutation run (docs/mutation.md): the same mutants as stryker.config.mjs, killed
// only by the hand-written rule tests of test/driver: `npm run mutate:quick`.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  jest: { ...base.jest, configFile: 'stryker.quick.jest.config.cjs' },
  incrementalFile: 'stryker-incremental.quick.json',
  htmlReporter: { fileName: 'reports/mutation-quick/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation-quick/mutation.json' },
};
