/**
 * The jest config of mutation testing (stryker.config.mjs): the suites that exercise machines/
 * and src/driver/, with the pinned fast-check seed of test/property/fc-parameters.ts.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config extends the other
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  testMatch: [
    '<rootDir>/test/driver/**/*.test.ts',
    '<rootDir>/test/model/**/*.test.ts',
    '<rootDir>/test/property/**/*.test.ts',
  ],
};
