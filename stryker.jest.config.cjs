/**
 * The jest config of mutation testing's second pass (stryker.config.mjs): every suite that
 * states the rules of machines/ and src/driver/ (the rule tests of test/driver, the property
 * and differential suites with the pinned fast-check seed, the model tests, and the tests of
 * the job runtime that runs the job and daemon charts).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config extends the other
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  testMatch: [
    '<rootDir>/test/driver/**/*.test.ts',
    '<rootDir>/test/model/**/*.test.ts',
    '<rootDir>/test/property/**/*.test.ts',
    '<rootDir>/test/jobs/{runtime,status,serving}.test.ts',
    '<rootDir>/test/visualizer/daemon.test.ts',
  ],
};
