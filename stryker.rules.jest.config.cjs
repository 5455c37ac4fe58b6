/**
 * The jest config of mutation testing's first pass (scripts/mutate.sh, MUTATION_TESTS=rules):
 * the hand-written rule tests of test/driver (without the scale test), and the job runtime's
 * tests and the job chart's model test for the job and daemon charts. Each mutant then costs
 * seconds; what survives them is tested again against every suite (stryker.jest.config.cjs).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config extends the other
const base = require('./stryker.jest.config.cjs');

module.exports = {
  ...base,
  testMatch: [
    '<rootDir>/test/driver/**/*.test.ts',
    '<rootDir>/test/jobs/{runtime,status,serving}.test.ts',
    '<rootDir>/test/visualizer/daemon.test.ts',
    '<rootDir>/test/model/job.model.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/driver/scale.test.ts'],
};
