// This package's tests: unit, integration (the emulator over real AMQP/HTTPS) and the
// target-agnostic conformance suite. Run alone with `npm test -w @podbus/servicebus-emulator`.
import { common, testTimeout } from '../../jest.preset.js';

/** @type {import('jest').Config} */
export default {
  ...common,
  displayName: 'servicebus-emulator',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout,
};
