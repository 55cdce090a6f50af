// All tests of the repository: the podbus worker's projects, then each emulator package's own
// (packages/*/jest.config.js; `npm test -w @podbus/<name>` runs one package alone).
import { common, testTimeout } from './jest.preset.js';

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
      // Property-based fuzzing (fast-check) of the message path, from the SDK's hands to a pod.
      displayName: 'fuzz',
      testMatch: ['<rootDir>/test/fuzz/**/*.test.ts'],
    },
    {
      ...common,
      // The CI-sized soak (test/soak/harness, `npm run soak` for the full one): several
      // podbus processes under chaos for a few minutes.
      displayName: 'soak',
      testMatch: ['<rootDir>/test/soak/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'system',
      testMatch: ['<rootDir>/test/system/**/*.test.ts'],
      // Docker engine, compose CLI and the local base image, whichever system test runs first.
      globalSetup: '<rootDir>/test/system/global-setup.mjs',
    },
    '<rootDir>/packages/servicebus-emulator',
    '<rootDir>/packages/kubernetes-emulator',
    '<rootDir>/packages/entra-emulator',
  ],
  testTimeout,
};
