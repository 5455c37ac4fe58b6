/**
 * The jest config of the quick mutation run (stryker.quick.config.mjs): the rule tests of
 * test/driver only, without the scale test; each mutant then costs seconds, not minutes.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config extends the other
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/driver/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/driver/scale.test.ts'],
};
