/** Tests are TypeScript compiled to CommonJS by ts-jest; sources import with `.js` suffixes (NodeNext). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Suites of OpenZFS-only scenarios (test/helpers/zfs.ts onlyOn) run on that backend only.
  testPathIgnorePatterns:
    process.env.XREPL_ZFS_BACKEND === 'openzfs'
      ? ['/node_modules/']
      : ['/node_modules/', '-openzfs\\.test\\.ts$'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // fast-check runs with a pinned seed unless FC_SEED says otherwise (test/property/fc-parameters.ts).
  setupFiles: ['<rootDir>/test/setup/fast-check.ts'],
  testTimeout: 30000,
};
