// Jest runs the TypeScript sources as native ES modules (see README, "Why ESM"):
// @kubernetes/client-node 2.x ships only ESM, so the whole project is ESM and jest runs under
// `node --experimental-vm-modules`. ts-jest only transpiles (type checking is `npm run lint`),
// which keeps a test run fast.
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'conformance',
      testMatch: ['<rootDir>/test/conformance/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'system',
      testMatch: ['<rootDir>/test/system/**/*.test.ts'],
      // Docker engine, compose CLI and the local base image, whichever system test runs first.
      globalSetup: '<rootDir>/test/system/global-setup.mjs',
    },
  ],
  testTimeout: 60_000,
};
