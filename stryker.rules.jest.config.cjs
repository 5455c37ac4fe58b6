/**
 * The jest config of mutation testing's first pass (scripts/mutate.sh): the hand-written rule
 * tests of a component. MUTATION_TESTS=rules: test/driver without the scale test (the driver
 * and its charts); MUTATION_TESTS=jobs: the job runtime's tests and the job chart's model test
 * (the job and daemon charts). Each mutant then costs seconds; what survives is tested again
 * against every suite (stryker.jest.config.cjs).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config extends the other
const base = require('./stryker.jest.config.cjs');

module.exports = {
  ...base,
  testMatch:
    process.env.MUTATION_TESTS === 'jobs'
      ? [
          '<rootDir>/test/jobs/{runtime,status,serving}.test.ts',
          '<rootDir>/test/visualizer/daemon.test.ts',
          '<rootDir>/test/model/job.model.test.ts',
        ]
      : ['<rootDir>/test/driver/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/driver/scale.test.ts'],
};
