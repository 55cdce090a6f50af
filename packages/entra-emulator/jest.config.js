// This package's tests: unit (tokens, keys, the directory) and integration (the unmodified
// @azure/identity credentials against the HTTPS endpoint). Run alone with
// `npm test -w @podbus/entra-emulator`.
import { common, testTimeout } from '../../jest.preset.js';

/** @type {import('jest').Config} */
export default {
  ...common,
  displayName: 'entra-emulator',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout,
};
